"""Export files: named safely, private to their owner, and holding no secret."""

from __future__ import annotations

from pathlib import Path

from ism_tui.private_files import export_path, mode_of, write_private
from ism_tui.redact import scrub_values


def test_an_export_is_named_safely_in_a_new_private_directory(tmp_path: Path) -> None:
    path = export_path(tmp_path / "exports" / "new", "escalation: role/not mapped", "md")
    assert path.parent == tmp_path / "exports" / "new" and mode_of(path.parent) == 0o700
    assert path.name == "escalation-role-not-mapped.md"
    assert write_private(path, "# one\ntwo\n") == 2
    assert path.read_text() == "# one\ntwo\n" and mode_of(path) == 0o600


def test_lines_overwrite_an_existing_file_and_make_it_private(tmp_path: Path) -> None:
    path = tmp_path / "usage.csv"
    path.write_text("old, longer than the new content\n")
    path.chmod(0o644)
    assert write_private(path, iter(["a,b", "1,2"])) == 2
    assert path.read_text() == "a,b\n1,2\n" and mode_of(path) == 0o600


def test_an_export_directory_the_operator_chose_keeps_its_mode(tmp_path: Path) -> None:
    chosen = tmp_path / "shared"
    chosen.mkdir()
    chosen.chmod(0o755)
    export_path(chosen, "x", "json")
    assert mode_of(chosen) == 0o755


def test_every_string_of_an_exported_record_is_scrubbed() -> None:
    record = {
        "summary": "open https://console.example/invite/abc123 now",
        "fields": {"launch_url": "https://ws.example/lab?token=s3cret#frag",
                   "note\x1b]0;title\x07": ["Bearer abcdefghijklmnop", 3, None]},
    }
    out = scrub_values(record)
    for secret in ("abc123", "s3cret", "frag", "abcdefghijklmnop", "\x1b"):
        assert secret not in repr(out)
    assert out["fields"]["launch_url"] == "https://ws.example/lab"
    assert out["fields"]["note"][1:] == [3, None]

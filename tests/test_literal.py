"""The rendering rule for untrusted text: ``screens.literal`` (screen) and ``echo`` (CLI)."""

from __future__ import annotations

import pytest

from ism_tui.cli.output import echo
from screens.literal import literal, plain

HOSTILE = "[/] [@click=app.quit]go[/] [$text]x \\[b]y\x1b]0;t\x07\x1b[2J\nz"


def test_plain_is_one_line_without_escapes_or_secrets() -> None:
    text = plain(f"{HOSTILE} Authorization: Bearer abcdefgh12345678 https://u:pw@h.example/p?t=1")
    assert text.startswith("[/] [@click=app.quit]go[/] [$text]x \\[b]y z")
    assert "\x1b" not in text and "\x07" not in text and "\n" not in text
    assert "abcdefgh12345678" not in text and "pw@" not in text and "t=1" not in text
    assert plain(None) == "" and plain(42) == "42"
    assert plain("x" * 50, 10) == "x" * 9 + "…"


def test_literal_content_is_never_parsed_as_markup() -> None:
    content = literal(HOSTILE, style="bold")
    assert content.plain == plain(HOSTILE)  # every bracket kept, nothing consumed
    assert [s.style for s in content.spans] == ["bold"]  # only the style asked for
    assert not literal("[b]x[/b]").spans


@pytest.mark.parametrize("redraw", [False, True])
def test_echo_strips_control_characters_but_keeps_lines(
        redraw: bool, capsys: pytest.CaptureFixture[str]) -> None:
    echo("a\x1b[31mred\x07\tb\nc\x9b2J", err=True, redraw=redraw)
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err == ("\r\x1b[2K" if redraw else "") + "ared\tb\nc\n"

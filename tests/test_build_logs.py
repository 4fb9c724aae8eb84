"""Reading cached build logs in windows: after an id, tail, search, failing-stage marks, export."""

from __future__ import annotations

import os
import stat

import pytest

from storage import build_logs as bl
from storage.load import load_build_logs

FAILED_BUILD = "bld-0000518"  # Northwind imaging-pipeline: start failed at "volume attach"


@pytest.fixture
def logs(demo_world_session):
    return demo_world_session.build_logs[FAILED_BUILD]


def test_info_names_failing_stage_first_error_and_size(demo_engine, logs) -> None:
    info = bl.info(demo_engine, FAILED_BUILD)
    errors = [x for x in logs if x["level"] == "error"]
    assert info.lines == len(logs)
    assert info.last_id == logs[-1]["id"]
    assert info.failing_stage == "volume attach"
    assert info.first_error_id == errors[0]["id"]
    assert info.error_lines == len(errors)


def test_unknown_build_is_empty_not_an_error(demo_engine) -> None:
    assert bl.info(demo_engine, "bld-nope").lines == 0
    assert bl.last_log_id(demo_engine, "bld-nope") is None
    assert bl.tail(demo_engine, "bld-nope", 10) == []


def test_read_after_pages_through_the_log_in_order(demo_engine, logs) -> None:
    seen: list[int] = []
    after = None
    while True:
        page = bl.read_after(demo_engine, FAILED_BUILD, after, limit=7)
        if not page:
            break
        seen += [x.id for x in page]
        after = page[-1].id
    assert seen == [x["id"] for x in logs]


def test_window_tail_and_position_agree(demo_engine, logs) -> None:
    window = bl.read_window(demo_engine, FAILED_BUILD, offset=10, limit=5)
    assert [x.id for x in window] == [x["id"] for x in logs[10:15]]
    last = bl.tail(demo_engine, FAILED_BUILD, 3)
    assert [x.output for x in last] == [x["output"] for x in logs[-3:]]
    assert bl.position_of(demo_engine, FAILED_BUILD, logs[20]["id"]) == 20
    with pytest.raises(ValueError, match="offset must not be negative"):
        bl.read_window(demo_engine, FAILED_BUILD, offset=-1, limit=5)


def test_failing_stage_and_error_lines_are_marked(demo_engine, logs) -> None:
    lines = bl.read_after(demo_engine, FAILED_BUILD)
    marked = {x.id for x in lines if x.marked}
    expected = {x["id"] for x in logs if x["level"] == "error" or x["stage"] == "volume attach"}
    assert marked == expected
    assert not any(x.marked for x in lines if x.stage == "init" and x.level == "info")
    assert [x.id for x in bl.error_lines(demo_engine, FAILED_BUILD, 100)] == sorted(expected)


def test_search_is_case_insensitive_literal_and_supports_find_next(demo_engine, logs) -> None:
    hits = bl.search(demo_engine, FAILED_BUILD, "multi-attach")
    assert hits and all("multi-attach" in x.output.lower() for x in hits)
    assert len(hits) == sum("multi-attach" in x["output"].lower() for x in logs)
    nxt = bl.search(demo_engine, FAILED_BUILD, "multi-attach", after_id=hits[0].id)
    assert [x.id for x in nxt] == [x.id for x in hits[1:]]
    # LIKE wildcards in the query are literal
    assert bl.search(demo_engine, FAILED_BUILD, "%") == []
    assert bl.search(demo_engine, FAILED_BUILD, "workspace[0]_") == []
    assert len(bl.search(demo_engine, FAILED_BUILD, "workspace[0]")) >= 3
    assert bl.search(demo_engine, FAILED_BUILD, "") == []


def test_escape_sequences_never_reach_reads_or_exports(demo_engine, tmp_path) -> None:
    hostile = [
        {"id": 1, "build_id": "bld-x", "created_at": "2026-11-24T09:00:00Z", "stage": "init",
         "level": "info", "output": "\x1b]52;c;ZWNobyBoaQ==\x07clipboard \x1b[2Jclear"},
        {"id": 2, "build_id": "bld-x", "created_at": "2026-11-24T09:00:01Z", "stage": "init",
         "level": "error",
         "output": "fetch https://git.example/repo.git?access_token=ghp_SECRET123 failed; "
                   "join at https://console.example/invite/AbCdEf123 Authorization: Bearer "
                   "sk-live-abcdefgh"},
    ]
    load_build_logs(demo_engine, hostile)
    lines = bl.read_after(demo_engine, "bld-x")
    assert "\x1b" not in lines[0].output and lines[0].output == "clipboard clear"
    out = tmp_path / "bld-x.log"
    assert bl.save_to_file(demo_engine, "bld-x", out) == 2
    text = out.read_text()
    assert "\x1b" not in text
    for secret in ("ghp_SECRET123", "AbCdEf123", "sk-live-abcdefgh", "/invite/"):
        assert secret not in text
    assert "https://git.example/repo.git" in text and "[invite link removed]" in text
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600


def test_export_of_a_real_log_keeps_every_line(demo_engine, logs, tmp_path) -> None:
    out = tmp_path / "build.log"
    assert bl.save_to_file(demo_engine, FAILED_BUILD, out) == len(logs)
    text = out.read_text().splitlines()
    assert len(text) == len(logs)
    assert text[-1].startswith("09:02:07 [volume attach] ERROR Build #7 failed")
    with pytest.raises(OSError):
        bl.save_to_file(demo_engine, FAILED_BUILD, tmp_path / "missing-dir" / "x.log")


def test_store_log_rows_appends_for_follow_mode(demo_engine, logs) -> None:
    from ism_tui.api.models import BuildLog
    from storage.rows import build_log_row

    last = bl.last_log_id(demo_engine, FAILED_BUILD)
    new = build_log_row(BuildLog.model_validate({
        **logs[-1], "id": last + 1, "output": "follow-up line", "level": "info",
        "stage": "init"}).model_dump(mode="json"))
    assert bl.store_log_rows(demo_engine, [new]) == 1
    after = bl.read_after(demo_engine, FAILED_BUILD, last)
    assert [x.output for x in after] == ["follow-up line"]
    assert bl.last_log_id(demo_engine, FAILED_BUILD) == last + 1

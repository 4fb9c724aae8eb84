"""``ism-tui usage``: readable summary, JSON/CSV, and clear errors, on the demo cache."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fresh_python import imports_none_of, python_ok, run

from ism_tui.analytics import periods
from ism_tui.cli import cmd_usage, main
from storage.load import set_me

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # conftest's frozen demo "now"


@pytest.fixture
def cli(demo_engine, monkeypatch):
    """Run ``ism-tui usage ...`` in-process on the demo cache with the clock frozen."""
    monkeypatch.setattr(cmd_usage, "_open_cache", lambda args: demo_engine)
    monkeypatch.setattr(periods, "utc_now", lambda: NOW)

    def run(*argv: str) -> int:
        return main(["usage", *argv])

    return run


def test_summary_shows_totals_days_and_diagnosis(cli, capsys) -> None:
    assert cli("--customer", "Pinecrest Media", "--from", "2026-11-16", "--to",
               "2026-11-19") == 0
    out = capsys.readouterr().out
    assert "Usage: Pinecrest Media (cus-0007), 2026-11-16 to 2026-11-19, 4 days" in out
    assert "Status: EMPTY (no usage rows in this period)" in out
    assert "Totals: 0.0 workspace hours" in out
    assert "2026-11-16        0.0        0.00        0.00       0  failed" in out
    assert "[x] reconciliation: usage for some days is not reconciled yet" in out
    assert "[ ] scope:" in out
    assert "selected period: 2026-11-16 to 2026-11-19" in out
    assert "visible reconciliation status: failed 2, pending 2" in out


def test_summary_for_all_customers_lists_top_lists(cli, capsys) -> None:
    assert cli("--period", "7d", "--top", "3") == 0
    out = capsys.readouterr().out
    assert "Usage: All customers, Last 7 days (2026-11-18 to 2026-11-24), 7 days" in out
    for heading in ("Top customers:", "Top workspaces (", "Top users ("):
        assert heading in out
    assert out.count("\n  ") >= 9  # 3 customers, 3 workspaces, 3 users


def test_json_output_is_the_view(cli, capsys, demo_engine) -> None:
    assert cli("--customer", "cus-0005", "--period", "30d", "--json") == 0
    data = json.loads(capsys.readouterr().out)
    with demo_engine.connect() as conn:
        expected = conn.exec_driver_sql(
            "SELECT SUM(workspace_seconds) FROM usage WHERE customer_id = 'cus-0005' "
            "AND day BETWEEN '2026-10-26' AND '2026-11-24'").scalar()
    assert data["totals"]["workspace_seconds"] == expected
    assert data["scope"]["label"] == "Acme Robotics (cus-0005)"
    assert len(data["days"]) == 30


def test_csv_to_a_file(cli, capsys, tmp_path: Path) -> None:
    target = tmp_path / "usage.csv"
    assert cli("--customer", "granite", "--period", "last-month", "-o", str(target)) == 0
    assert "wrote CSV for Granite Civil (cus-0004)" in capsys.readouterr().err
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 32 and rows[-1]["day"] == "TOTAL"  # 31 days of October + total


@pytest.mark.parametrize(("argv", "message"), [
    (("--from", "2026-13-01"), "--from '2026-13-01' is not a real calendar date"),
    (("--period", "week"), "unknown period 'week'"),
    (("--period", "7d", "--from", "2026-11-01"), "either --period or --from/--to"),
    (("--customer", "Pinecrast"), "did you mean Pinecrest Media (cus-0007)?"),
    (("--customer", "Bluefin"), "'Bluefin' matches 2 customers"),
    (("--top", "1000"), "--top must be between 0 and 100"),
])
def test_bad_input_exits_2_with_a_clear_message(cli, capsys, argv, message) -> None:
    assert cli(*argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_member_is_told_why_with_exit_3(cli, capsys, demo_engine, demo_world_session) -> None:
    set_me(demo_engine, demo_world_session.tokens["demo-member"])
    assert cli("--json") == 3
    out = capsys.readouterr().out
    assert out.startswith("Analytics is for customer admins and platform operators.")
    assert "{" not in out


def test_empty_cache_says_to_sync_first(monkeypatch, capsys, tmp_path: Path) -> None:
    from storage.db import make_engine

    engine = make_engine(tmp_path / "empty.sqlite")
    monkeypatch.setattr(cmd_usage, "_open_cache", lambda args: engine)
    assert main(["usage"]) == 1
    assert "the cache holds no data yet: run `ism-tui sync` first" in capsys.readouterr().err


def test_help_starts_without_heavy_imports() -> None:
    code = (
        "import sys\n"
        "from ism_tui.cli import build_parser\n"
        "build_parser()\n"
        "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'textual', 'httpx') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    python_ok(code)
    done = run(["-m", "ism_tui", "usage", "--help"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "--customer ID|NAME" in done.stdout and "--from YYYY-MM-DD" in done.stdout


def test_analytics_core_never_imports_textual() -> None:
    imports_none_of(["ism_tui.analytics.periods", "ism_tui.analytics.service",
                     "ism_tui.analytics.export", "ism_tui.analytics.diagnosis",
                     "storage.usage_queries", "storage.usage_rollups"], ("textual",))

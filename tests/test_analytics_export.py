"""CSV and JSON exports of an analytics view: round trip, sanitised, no secrets, members refused."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, date, datetime

import pytest

from ism_tui.analytics.export import CSV_COLUMNS, TOTAL_DAY, to_csv, to_json
from ism_tui.analytics.periods import Period, preset
from ism_tui.analytics.service import AnalyticsError, AnalyticsService, Selection
from storage.load import set_me

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # conftest's frozen demo "now"


def view_of(engine, customer: str | None, period: Period):
    return AnalyticsService(engine, clock=lambda: NOW, top_n=5).view(Selection(customer, period))


def test_csv_round_trip_matches_the_view(demo_engine) -> None:
    view = view_of(demo_engine, "cus-0001", preset("30d", NOW.date()))
    rows = list(csv.DictReader(io.StringIO(to_csv(view))))
    assert tuple(rows[0]) == CSV_COLUMNS
    days, total = rows[:-1], rows[-1]
    assert [r["day"] for r in days] == [d.day.isoformat() for d in view.days]
    assert [int(r["workspace_seconds"]) for r in days] == [d.amounts.workspace_seconds
                                                           for d in view.days]
    assert [int(r["usage_rows"]) for r in days] == [d.amounts.rows for d in view.days]
    assert [r["reconciliation"] for r in days] == [d.status for d in view.reconciliation]
    assert {r["customer"] for r in rows} == {"Copperleaf Energy (cus-0001)"}
    assert total["day"] == TOTAL_DAY
    assert int(total["workspace_seconds"]) == view.totals.workspace_seconds
    assert sum(float(r["cost_usd"]) for r in days) == pytest.approx(float(total["cost_usd"]),
                                                                     abs=0.01 * len(days))
    assert total["reconciliation"] == "pending=1; reconciled=29"


def test_json_round_trip_holds_days_totals_reconciliation_and_diagnosis(demo_engine) -> None:
    period = Period(date(2026, 11, 16), date(2026, 11, 19))
    view = view_of(demo_engine, "cus-0007", period)
    data = json.loads(to_json(view))
    assert data["period"] == {"key": "custom", "from": "2026-11-16", "to": "2026-11-19",
                              "label": "2026-11-16 to 2026-11-19"}
    assert data["status"] == "empty"
    assert [d["day"] for d in data["days"]] == ["2026-11-16", "2026-11-17", "2026-11-18",
                                                 "2026-11-19"]
    assert [d["reconciliation"] for d in data["days"]] == ["failed", "failed", "pending",
                                                           "pending"]
    assert data["totals"]["usage_rows"] == 0
    assert data["reconciliation"]["summary"] == {"failed": 2, "pending": 2}
    primary = [f for f in data["diagnosis"] if f["primary"]]
    assert [f["reason"] for f in primary] == ["reconciliation"] and primary[0]["fix"]
    assert data["escalation"]["selected_period"]["from"] == "2026-11-16"
    assert data["escalation"]["reconciliation_status"] == {"failed": 2, "pending": 2}


def test_json_totals_match_the_view(demo_engine) -> None:
    view = view_of(demo_engine, None, preset("90d", NOW.date()))
    data = json.loads(to_json(view))
    assert data["totals"]["workspace_seconds"] == view.totals.workspace_seconds
    assert sum(d["workspace_seconds"] for d in data["days"]) == view.totals.workspace_seconds
    assert [w["workspace_id"] for w in data["top_workspaces"]] == [
        w.workspace_id for w in view.top_workspaces]
    assert data["top_customers"][0]["name"] == view.top_customers[0].name


def test_hostile_names_are_sanitised_in_both_formats(demo_engine) -> None:
    hostile = "=HYPERLINK(\"http://x\")\x1b]0;pwned\x07\x1b[2J[@click=app.quit]\u202e"
    with demo_engine.begin() as conn:  # as if an older cache held it unsanitised
        conn.exec_driver_sql("UPDATE customers SET name = ? WHERE id = 'cus-0001'", (hostile,))
        conn.exec_driver_sql("UPDATE workspaces SET name = ? WHERE customer_id = 'cus-0001'",
                             ("-cmd|' /C calc'!A0\x1b[31m",))
    view = view_of(demo_engine, "cus-0001", preset("30d", NOW.date()))
    text_csv, text_json = to_csv(view), to_json(view)
    for text in (text_csv, text_json):
        assert "\x1b" not in text and "\x07" not in text
    cells = [r["customer"] for r in csv.DictReader(io.StringIO(text_csv))]
    assert all(c.startswith("'=HYPERLINK") for c in cells)  # a spreadsheet will not run it
    data = json.loads(text_json)
    assert data["scope"]["label"].startswith("=HYPERLINK(\"http://x\")[@click=app.quit]")
    assert data["top_workspaces"][0]["name"] == "-cmd|' /C calc'!A0"


def test_exports_hold_no_secrets(demo_engine, demo_world_session) -> None:
    view = view_of(demo_engine, None, preset("90d", NOW.date()))
    text = to_json(view) + to_csv(view)
    for token in demo_world_session.tokens:  # the bearer tokens the cache was synced with
        assert token not in text
    for word in ("token", "cookie", "invite", "Bearer"):
        assert word.lower() not in text.lower()


def test_a_denied_view_cannot_be_exported(demo_engine, demo_world_session) -> None:
    set_me(demo_engine, demo_world_session.tokens["demo-member"])
    view = view_of(demo_engine, None, preset("7d", NOW.date()))
    for export in (to_csv, to_json):
        with pytest.raises(AnalyticsError, match="Analytics is for customer admins"):
            export(view)

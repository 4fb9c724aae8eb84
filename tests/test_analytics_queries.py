"""Usage queries and roll-ups against the demo cache, checked against direct SQL over ``usage``."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.load import load_wire
from storage.upsert import upsert_rows
from storage.usage_queries import read_usage
from storage.usage_rollups import refresh_usage_daily

TODAY = date(2026, 11, 24)  # FROZEN_NOW's day


def sql(engine, query: str, *args: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(query, args).fetchall()]


def direct_totals(engine, customer: str | None, start: date, end: date) -> tuple:
    where = " AND customer_id = ?" if customer else ""
    args = (start.isoformat(), end.isoformat(), *([customer] if customer else []))
    return sql(engine, "SELECT COALESCE(SUM(workspace_seconds), 0), COALESCE(SUM(ai_credits_used), "
               "0), COALESCE(SUM(cost_usd), 0), COUNT(*) FROM usage WHERE day BETWEEN ? AND ?"
               + where, *args)[0]


@pytest.mark.parametrize("customer", [None, "cus-0005", "cus-0011"])
@pytest.mark.parametrize("days", [1, 7, 30, 90])
def test_totals_match_a_direct_sum(demo_engine, customer: str | None, days: int) -> None:
    start = TODAY - timedelta(days=days - 1)
    with read_usage(demo_engine) as reader:
        series = reader.daily(customer, start, TODAY)
    secs, credits, cost, rows = direct_totals(demo_engine, customer, start, TODAY)
    assert [d.day for d in series] == [start + timedelta(days=n) for n in range(days)]
    assert sum(d.amounts.workspace_seconds for d in series) == secs
    assert sum(d.amounts.rows for d in series) == rows
    assert sum(d.amounts.ai_credits_used for d in series) == pytest.approx(credits)
    assert sum(d.amounts.cost_usd for d in series) == pytest.approx(cost)
    if customer == "cus-0011":  # Bluefin Labs has no usage at all: zero-filled days
        assert rows == 0 and all(d.amounts.rows == 0 for d in series)
    else:
        assert rows > 0


def test_per_day_series_matches_each_day(demo_engine) -> None:
    start = TODAY - timedelta(days=13)
    with read_usage(demo_engine) as reader:
        series = reader.daily("cus-0001", start, TODAY)
    expected = dict(sql(demo_engine, "SELECT day, SUM(workspace_seconds) FROM usage WHERE "
                        "customer_id = 'cus-0001' AND day >= ? GROUP BY day", start.isoformat()))
    assert {d.day.isoformat(): d.amounts.workspace_seconds for d in series if d.amounts.rows} \
        == expected
    assert any(d.amounts.rows == 0 for d in series)  # weekends without usage are still there


def _check_ranking(engine, customer: str | None, start: date, end: date) -> None:
    where = " AND customer_id = ?" if customer else ""
    args = (start.isoformat(), end.isoformat(), *([customer] if customer else []))
    by_ws = sql(engine, "SELECT workspace_id, SUM(workspace_seconds), COUNT(*) FROM usage "
                "WHERE day BETWEEN ? AND ?" + where + " GROUP BY workspace_id", *args)
    by_user = sql(engine, "SELECT user_id, SUM(cost_usd) FROM usage WHERE day BETWEEN ? AND ?"
                  + where + " GROUP BY user_id", *args)
    with read_usage(engine) as reader:
        ranking = reader.ranking(customer, start, end, limit=5)
        by_cost = reader.ranking(customer, start, end, limit=3, metric="cost")
    top = sorted(by_ws, key=lambda r: (-r[1], r[0]))[:5]
    assert [(w.workspace_id, w.amounts.workspace_seconds, w.amounts.rows)
            for w in ranking.workspaces] == top
    assert ranking.workspaces_with_usage == len(by_ws)
    assert ranking.users_with_usage == len(by_user)
    assert [u.amounts.cost_usd for u in by_cost.users] == pytest.approx(
        sorted((r[1] for r in by_user), reverse=True)[:3])


@pytest.mark.parametrize(("start", "end"), [
    (TODAY - timedelta(days=89), TODAY),  # weekly roll-up, both edges partial
    (date(2026, 10, 1), date(2026, 10, 31)),  # a month: subtracts edge days outside
    (date(2026, 11, 2), date(2026, 11, 22)),  # whole weeks only
    (TODAY - timedelta(days=6), TODAY),  # short: raw rows
])
def test_rankings_match_direct_grouping(demo_engine, start: date, end: date) -> None:
    _check_ranking(demo_engine, None, start, end)
    _check_ranking(demo_engine, "cus-0005", start, end)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(0, 95), length=st.integers(0, 70),
       customer=st.sampled_from([None, "cus-0003", "cus-0007"]))
def test_rankings_match_for_any_period(demo_engine, offset: int, length: int,
                                       customer: str | None) -> None:
    start = TODAY - timedelta(days=offset)
    _check_ranking(demo_engine, customer, start, start + timedelta(days=length))


def test_ranking_carries_names_and_is_cached_until_usage_changes(demo_engine) -> None:
    start = TODAY - timedelta(days=29)
    with read_usage(demo_engine) as reader:
        first = reader.ranking(None, start, TODAY, limit=3)
    top = first.workspaces[0]
    name, owner = sql(demo_engine, "SELECT name, owner_email FROM workspaces WHERE id = ?",
                      top.workspace_id)[0]
    assert (top.name, top.owner_email) == (name, owner) and name
    assert sql(demo_engine, "SELECT COUNT(*) FROM usage_rank_cache")[0][0] == 1
    # a re-sync changes that workspace's usage: the cached ranking must not be served
    row = sql(demo_engine, "SELECT id, day, customer_id, workspace_id, user_id, workspace_seconds,"
              " ai_credits_used, cost_usd, updated_at FROM usage WHERE workspace_id = ? AND day "
              ">= ? LIMIT 1", top.workspace_id, start.isoformat())[0]
    cols = ("id", "day", "customer_id", "workspace_id", "user_id", "workspace_seconds",
            "ai_credits_used", "cost_usd", "updated_at")
    changed = dict(zip(cols, row, strict=True)) | {"workspace_seconds": row[5] + 10_000_000}
    with demo_engine.begin() as conn:
        upsert_rows(conn, "usage", [changed])
    with read_usage(demo_engine) as reader:
        again = reader.ranking(None, start, TODAY, limit=3)
    assert again.workspaces[0].workspace_id == top.workspace_id
    assert again.workspaces[0].amounts.workspace_seconds == top.amounts.workspace_seconds \
        + 10_000_000


def test_rollups_follow_inserts_updates_and_tombstones(demo_engine) -> None:
    refresh_usage_daily(demo_engine)
    day = TODAY - timedelta(days=2)

    def seconds() -> int:
        with read_usage(demo_engine) as reader:
            return reader.daily("cus-0001", day, day)[0].amounts.workspace_seconds

    before = seconds()
    load_wire(demo_engine, "usage", [{
        "id": "use-test-1", "updated_at": "2026-11-24T09:00:00Z", "day": day.isoformat(),
        "customer_id": "cus-0001", "workspace_id": "ws-x", "user_id": "usr-x",
        "workspace_seconds": 3600, "ai_credits_used": 1.5, "cost_usd": 2.0,
    }])
    assert seconds() == before + 3600
    load_wire(demo_engine, "usage", [{
        "id": "use-test-1", "updated_at": "2026-11-24T09:05:00Z", "day": day.isoformat(),
        "customer_id": "cus-0001", "workspace_id": "ws-x", "user_id": "usr-x",
        "workspace_seconds": 7200, "ai_credits_used": 1.5, "cost_usd": 2.0,
    }])
    assert seconds() == before + 7200
    load_wire(demo_engine, "usage", [{"id": "use-test-1", "updated_at": "2026-11-24T09:10:00Z",
                                      "deleted": True, "day": day.isoformat(),
                                      "customer_id": "cus-0001", "workspace_id": "ws-x",
                                      "user_id": "usr-x"}])
    assert seconds() == before


def test_unchanged_resync_marks_nothing_stale(demo_engine) -> None:
    refresh_usage_daily(demo_engine)
    cols = ("id", "day", "customer_id", "workspace_id", "user_id", "workspace_seconds",
            "ai_credits_used", "cost_usd", "updated_at")
    rows = [dict(zip(cols, r, strict=True))
            for r in sql(demo_engine, f"SELECT {', '.join(cols)} FROM usage LIMIT 500")]
    with demo_engine.begin() as conn:
        upsert_rows(conn, "usage", rows)
    assert sql(demo_engine, "SELECT COUNT(*) FROM usage_dirty_days")[0][0] == 0
    assert refresh_usage_daily(demo_engine).days == 0


def test_reconciliation_per_day_and_coverage(demo_engine) -> None:
    with read_usage(demo_engine) as reader:
        pine = reader.reconciliation("cus-0007", date(2026, 11, 15), date(2026, 11, 20))
        everyone = reader.reconciliation(None, date(2026, 11, 16), date(2026, 11, 16))
        old = reader.reconciliation("cus-0002", date(2025, 11, 1), date(2025, 11, 2))
    assert [d.status for d in pine] == ["reconciled", "failed", "failed", "pending", "pending",
                                        "reconciled"]
    # all customers: the worst state wins, and the counts show how many customers are in each
    assert everyone[0].status == "failed"
    assert everyone[0].counts["failed"] == 1 and everyone[0].counts["reconciled"] >= 10
    assert [d.status for d in old] == ["missing", "missing"]  # nothing reported back then


def test_running_totals_follow_a_change_to_an_old_day(demo_engine) -> None:
    """Rankings read running totals per week: a re-synced day early in the cache must move
    every later week's totals, or periods after it would be off by the change."""
    refresh_usage_daily(demo_engine)
    old = TODAY - timedelta(days=80)
    row = sql(demo_engine, "SELECT id, day, customer_id, workspace_id, user_id, "
              "workspace_seconds, ai_credits_used, cost_usd, updated_at FROM usage "
              "WHERE day >= ? ORDER BY day, id LIMIT 1", old.isoformat())[0]
    old, customer = date.fromisoformat(row[1]), row[2]
    cols = ("id", "day", "customer_id", "workspace_id", "user_id", "workspace_seconds",
            "ai_credits_used", "cost_usd", "updated_at")
    with demo_engine.begin() as conn:
        upsert_rows(conn, "usage", [dict(zip(cols, row, strict=True))
                                    | {"workspace_seconds": row[5] + 5_000_000}])
    assert refresh_usage_daily(demo_engine).weeks >= 11  # every week from the old day's on
    for start, end in [(old - timedelta(days=3), TODAY), (old + timedelta(days=1), TODAY),
                       (old, old + timedelta(days=40))]:
        _check_ranking(demo_engine, None, start, end)
        _check_ranking(demo_engine, customer, start, end)
    with read_usage(demo_engine) as reader:
        top = reader.ranking(customer, old - timedelta(days=3), TODAY, limit=1).workspaces[0]
    assert top.workspace_id == row[3]


def test_a_malformed_day_in_the_cache_breaks_no_rollup(demo_engine) -> None:
    """The wire models reject a bad day, but a cache is a file anyone can touch: a row whose
    day is not a date is in no period and must not stop the roll-ups or the rankings."""
    refresh_usage_daily(demo_engine)
    with demo_engine.begin() as conn:
        for n, day in enumerate(("2026-13-45", "", "yesterday")):
            conn.exec_driver_sql(
                "INSERT INTO usage (id, day, customer_id, workspace_id, user_id, "
                "workspace_seconds, ai_credits_used, cost_usd, updated_at) "
                "VALUES (?, ?, 'cus-0005', 'ws-bad', 'usr-bad', 99999999, 0, 0, '')",
                (f"use-bad-{n}", day))
    assert refresh_usage_daily(demo_engine).days == 3
    assert refresh_usage_daily(demo_engine, full=True).full
    for start, end in [(TODAY - timedelta(days=89), TODAY), (TODAY - timedelta(days=6), TODAY)]:
        _check_ranking(demo_engine, "cus-0005", start, end)
        _check_ranking(demo_engine, None, start, end)


def _pair_day_seconds(engine, day: date) -> int:
    return sql(engine, "SELECT COALESCE(SUM(workspace_seconds), 0) FROM usage_pair_days "
               "WHERE day = ?", day.isoformat())[0][0]


def _bump_usage(engine, day: date, seconds: int) -> str:
    """Add ``seconds`` to one usage row of ``day`` (as a re-sync would); returns its customer."""
    cols = ("id", "day", "customer_id", "workspace_id", "user_id", "workspace_seconds",
            "ai_credits_used", "cost_usd", "updated_at")
    row = sql(engine, f"SELECT {', '.join(cols)} FROM usage WHERE day = ? ORDER BY id LIMIT 1",
              day.isoformat())[0]
    with engine.begin() as conn:
        upsert_rows(conn, "usage", [dict(zip(cols, row, strict=True))
                                    | {"workspace_seconds": row[5] + seconds,
                                       "updated_at": "2026-11-24T23:59:59Z"}])
    return str(row[2])


def test_a_totals_refresh_leaves_the_rankings_to_the_first_reader_that_ranks(
        demo_engine) -> None:
    """The sync refreshes only the totals (the blocker diagnoses read nothing else): the
    daily figures move at once, the ranking roll-ups when someone ranks, and a reader that
    did not bring them up to date refuses to rank rather than serve stale figures."""
    from storage.usage_rollups import is_stale

    refresh_usage_daily(demo_engine)
    day = TODAY - timedelta(days=3)
    customer = _bump_usage(demo_engine, day, 1_000_000)
    pairs_before = _pair_day_seconds(demo_engine, day)

    result = refresh_usage_daily(demo_engine, rankings=False)
    assert (result.days, result.weeks) == (1, 0)
    with read_usage(demo_engine, rankings=False) as reader:
        assert reader.daily(customer, day, day)[0].amounts.workspace_seconds == \
            direct_totals(demo_engine, customer, day, day)[0]
        with pytest.raises(RuntimeError, match="rankings=False"):
            reader.ranking(customer, day, day)
    assert _pair_day_seconds(demo_engine, day) == pairs_before  # not on the sync's clock
    raw = demo_engine.raw_connection()
    try:
        assert not is_stale(raw.driver_connection, rankings=False)
        assert is_stale(raw.driver_connection, rankings=True)
    finally:
        raw.close()

    _check_ranking(demo_engine, customer, day - timedelta(days=20), TODAY)  # refreshes first
    assert _pair_day_seconds(demo_engine, day) == pairs_before + 1_000_000
    assert sql(demo_engine, "SELECT COUNT(*) FROM usage_dirty_days")[0][0] == 0


def test_a_change_after_the_totals_refresh_is_summed_again(demo_engine) -> None:
    """A day whose totals were summed (its ranking roll-ups still due) that changes again must
    have its totals summed again, not be taken as current."""
    refresh_usage_daily(demo_engine)
    day = TODAY - timedelta(days=4)
    customer = _bump_usage(demo_engine, day, 1_000)
    refresh_usage_daily(demo_engine, rankings=False)
    _bump_usage(demo_engine, day, 2_000)
    assert refresh_usage_daily(demo_engine, rankings=False).days == 1
    with read_usage(demo_engine, rankings=False) as reader:
        assert reader.daily(customer, day, day)[0].amounts.workspace_seconds == \
            direct_totals(demo_engine, customer, day, day)[0]
    _check_ranking(demo_engine, customer, day - timedelta(days=10), day)


def test_first_refresh_of_totals_defers_a_full_ranking_build(tmp_path,
                                                            demo_world_session) -> None:
    """A fresh cache (no triggers yet) refreshed for totals only: every day's totals are
    summed, and the first ranking builds every ranking roll-up from scratch."""
    from conftest import load_world_into_cache

    from storage.db import make_engine

    engine = make_engine(tmp_path / "fresh.sqlite")
    try:
        load_world_into_cache(engine, demo_world_session)
        with engine.begin() as conn:  # as a first sync leaves it: usage, no roll-ups at all
            for table in ("usage_daily", "usage_pair_days", "usage_pair_weeks", "usage_pairs",
                          "usage_dirty_days"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
            for name in ("insert", "update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS trg_usage_dirty_{name}")
        result = refresh_usage_daily(engine, rankings=False)
        assert result.full and result.days > 80
        assert sql(engine, "SELECT COUNT(*) FROM usage_pairs")[0][0] == 0
        start = TODAY - timedelta(days=29)
        with read_usage(engine, rankings=False) as reader:
            series = reader.daily(None, start, TODAY)
        assert sum(d.amounts.rows for d in series) == direct_totals(engine, None, start,
                                                                     TODAY)[3]
        _check_ranking(engine, None, start, TODAY)
        _check_ranking(engine, "cus-0005", TODAY - timedelta(days=89), TODAY)
        assert sql(engine, "SELECT COUNT(*) FROM meta WHERE key = 'usage_pairs_rebuild'") \
            == [(0,)]
    finally:
        engine.dispose()


def test_a_days_totals_read_the_day_in_customer_order_without_a_sort(demo_engine) -> None:
    """The totals are summed a day at a time off the day index: its rows come in customer
    order, so no temporary sort is built (one per day, on every refresh)."""
    from storage.usage_rollups import _DAY_TOTALS

    select = _DAY_TOTALS[1][_DAY_TOTALS[1].index("SELECT"):]
    raw = demo_engine.raw_connection()
    try:
        plan = [row[3] for row in raw.driver_connection.execute(
            f"EXPLAIN QUERY PLAN {select}", ("2026-11-01",))]
    finally:
        raw.close()
    assert any("ix_usage_day" in step for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan

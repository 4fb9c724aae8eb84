"""Keeping the usage roll-ups in step with ``usage``.

- ``usage_daily`` (customer, day): totals and per-day series;
- ``usage_pairs`` numbers each (workspace, user, customer) with usage;
- ``usage_pair_days`` (day, customer, pair) and ``usage_pair_weeks`` (running totals per pair
  through each week): rankings over any period read two week slices and a few days.

Triggers on ``usage`` record the days whose rows changed in ``usage_dirty_days`` (a re-synced
row that did not change marks nothing). The roll-ups come up to date at two levels:

- **totals** (``usage_daily``): what the blocker diagnoses and an analytics view without
  rankings read. A sync refreshes only these (the cheap part);
- **rankings** (the pair tables): several times the cost, built by the first reader that ranks
  (the console warms its rankings after each sync, in a worker), not on the sync's clock.

A refresh recomputes only the dirty days (a day's ``daily_current`` says its totals are done),
bumps ``meta['usage_version']`` and drops cached rankings. The first refresh on a cache creates
the triggers and rebuilds everything (for the totals alone: those, and the ranking roll-ups
are then due in full), so rows written before the triggers existed are counted too. Readers
(``storage.usage_queries.read_usage``) refresh first, so the roll-ups are never stale even if
a sync did not call this.

The triggers cost ~20% of ``usage`` upsert throughput (~95k -> ~75k rows/s); no other table is
affected. Build and refresh times at 1M usage rows are printed by ``bench/bench_analytics.py``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Engine


def _mark(row: str) -> str:
    """A trigger's statement: ``row``'s day is dirty at both levels (the update is a no-op
    when the day is already marked, as for every row after a page's first)."""
    return (f"INSERT INTO usage_dirty_days(day) VALUES ({row}.day) "
            "ON CONFLICT(day) DO UPDATE SET daily_current = 0 WHERE daily_current;")


_TRIGGERS: dict[str, str] = {
    "trg_usage_dirty_insert": (
        "CREATE TRIGGER IF NOT EXISTS trg_usage_dirty_insert AFTER INSERT ON usage BEGIN "
        f"{_mark('new')} END"
    ),
    "trg_usage_dirty_update": (
        "CREATE TRIGGER IF NOT EXISTS trg_usage_dirty_update AFTER UPDATE ON usage "
        "WHEN old.day IS NOT new.day OR old.customer_id IS NOT new.customer_id "
        "OR old.workspace_id IS NOT new.workspace_id OR old.user_id IS NOT new.user_id "
        "OR old.workspace_seconds IS NOT new.workspace_seconds "
        "OR old.ai_credits_used IS NOT new.ai_credits_used OR old.cost_usd IS NOT new.cost_usd "
        f"BEGIN {_mark('old')} {_mark('new')} END"
    ),
    "trg_usage_dirty_delete": (
        "CREATE TRIGGER IF NOT EXISTS trg_usage_dirty_delete AFTER DELETE ON usage BEGIN "
        f"{_mark('old')} END"
    ),
}
# The roll-ups' sums, named in every INSERT: none relies on the tables' column order
_SUMS = "workspace_seconds, ai_credits_used, cost_usd, rows"
_PAIRS_INSERT = (
    "INSERT INTO usage_pairs (workspace_id, user_id, customer_id) "
    "SELECT DISTINCT workspace_id, user_id, customer_id FROM usage WHERE {where} "
    "ON CONFLICT DO NOTHING"
)
# One day at a time: a day's rows come off ``ix_usage_day`` and land in a part of the table
# that stays in cache (faster than one statement over all days), summed by upsert rather than
# GROUP BY (no sort).
_PAIR_DAY_STATEMENTS = (
    "DELETE FROM usage_pair_days WHERE day = ?1",
    f"INSERT INTO usage_pair_days (day, customer_id, pair, {_SUMS}) "
    "SELECT ?1, u.customer_id, p.id, u.workspace_seconds, "
    "u.ai_credits_used, u.cost_usd, 1 FROM usage u JOIN usage_pairs p "
    "ON p.workspace_id = u.workspace_id AND p.user_id = u.user_id "
    "AND p.customer_id = u.customer_id WHERE u.day = ?1 ON CONFLICT DO UPDATE SET "
    "workspace_seconds = workspace_seconds + excluded.workspace_seconds, "
    "ai_credits_used = ai_credits_used + excluded.ai_credits_used, "
    "cost_usd = cost_usd + excluded.cost_usd, rows = rows + 1",
)
# A day's totals straight from its ``usage`` rows (whether one day is refreshed or all are
# rebuilt: one summing order, so the floats agree), a day at a time as above, for the same
# reason.
_DAY_TOTALS = (
    "DELETE FROM usage_daily WHERE day = ?1",
    f"INSERT INTO usage_daily (customer_id, day, {_SUMS}) SELECT customer_id, day, "
    "SUM(workspace_seconds), SUM(ai_credits_used), SUM(cost_usd), COUNT(*) FROM usage "
    "WHERE day = ?1 GROUP BY customer_id, day",
)
_WEEK_INSERT = (  # one week's running totals: the week before's plus this week's days
    f"INSERT INTO usage_pair_weeks (week, customer_id, pair, {_SUMS}) "
    "SELECT ?, customer_id, pair, SUM(s), SUM(c), SUM(k), SUM(n) "
    "FROM (SELECT customer_id, pair, workspace_seconds AS s, ai_credits_used AS c, "
    "cost_usd AS k, rows AS n FROM usage_pair_weeks WHERE week = ? UNION ALL "
    "SELECT customer_id, pair, workspace_seconds, ai_credits_used, cost_usd, rows "
    "FROM usage_pair_days WHERE day IN (?, ?, ?, ?, ?, ?, ?)) GROUP BY customer_id, pair"
)
_REAL_DAY = "date(day) IS day"  # a malformed day ("2026-13-45", "") is in no period
SHAPE_KEY = "usage_shape"  # pairs and pair-day rows per day: what a ranking's plan weighs
VERSION_KEY = "usage_version"
PAIRS_REBUILD_KEY = "usage_pairs_rebuild"  # set: the ranking roll-ups await a full rebuild


def week_start(day: date) -> date:
    """The Monday of ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


@dataclass(frozen=True)
class RefreshResult:
    full: bool
    days: int  # days recomputed (0: nothing was stale)
    weeks: int


def triggers_present(db: sqlite3.Connection) -> bool:
    names = ", ".join(f"'{n}'" for n in _TRIGGERS)
    row = db.execute(
        f"SELECT COUNT(*) FROM sqlite_master WHERE type='trigger' AND name IN ({names})"
    ).fetchone()
    return bool(row[0] == len(_TRIGGERS))


def is_stale(db: sqlite3.Connection, *, rankings: bool = True) -> bool:
    """Whether a refresh has work to do: for the totals only, or (``rankings``) for all."""
    if not triggers_present(db):
        return True
    if not rankings:
        return db.execute("SELECT 1 FROM usage_dirty_days WHERE NOT daily_current "
                          "LIMIT 1").fetchone() is not None
    return (db.execute("SELECT 1 FROM usage_dirty_days LIMIT 1").fetchone() is not None
            or _pairs_rebuild_due(db))


def _pairs_rebuild_due(db: sqlite3.Connection) -> bool:
    return db.execute("SELECT 1 FROM meta WHERE key = ?",
                      (PAIRS_REBUILD_KEY,)).fetchone() is not None


def data_version(db: sqlite3.Connection) -> int:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (VERSION_KEY,)).fetchone()
    try:
        return int(row[0]) if row else 0
    except ValueError:
        return 0


def _bump_version(db: sqlite3.Connection) -> None:
    db.execute(
        "INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
        (VERSION_KEY, str(data_version(db) + 1)),
    )
    db.execute("DELETE FROM usage_rank_cache")


def _rebuild_weeks(db: sqlite3.Connection, first: date | None) -> int:
    """Recompute the running totals from the week of ``first`` (None: all) to the last week
    with usage, one slice per week even through weeks without any; returns slices written."""
    if first is None:
        db.execute("DELETE FROM usage_pair_weeks")
    else:
        db.execute("DELETE FROM usage_pair_weeks WHERE week >= ?",
                   (week_start(first).isoformat(),))
    lo, hi = (db.execute(f"SELECT day FROM usage_pair_days WHERE {_REAL_DAY} "
                         f"ORDER BY day {way} LIMIT 1").fetchone() for way in ("", "DESC"))
    if lo is None or hi is None:
        return 0
    lo, hi = lo[0], hi[0]
    week, last = week_start(date.fromisoformat(lo)), week_start(date.fromisoformat(hi))
    if first is not None:
        week = max(week, week_start(first))
    written = 0
    while week <= last:
        days = [(week + timedelta(days=n)).isoformat() for n in range(7)]  # only real days
        db.execute(_WEEK_INSERT, (week.isoformat(), (week - timedelta(days=7)).isoformat(),
                                  *days))
        week += timedelta(days=7)
        written += 1
    return written


def _store_shape(db: sqlite3.Connection) -> None:
    pairs = db.execute("SELECT COUNT(*) FROM usage_pairs").fetchone()[0]
    rows, days = db.execute("SELECT SUM(rows), COUNT(DISTINCT day) FROM usage_daily").fetchone()
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
               (SHAPE_KEY, f"{int(pairs)} {int(rows or 0)} {int(days or 0)}"))


def _usage_days(db: sqlite3.Connection) -> list[str]:
    return [str(r[0]) for r in db.execute("SELECT DISTINCT day FROM usage")]


def _rebuild_totals(db: sqlite3.Connection) -> int:
    """Every day's totals; the ranking roll-ups are left for a full rebuild. Returns days."""
    db.execute("DELETE FROM usage_daily")
    days = _usage_days(db)
    for day in days:
        db.execute(_DAY_TOTALS[1], (day,))  # the table was just emptied
    db.execute("DELETE FROM usage_dirty_days")
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, '1')", (PAIRS_REBUILD_KEY,))
    return len(days)


def _refresh_totals(db: sqlite3.Connection) -> int:
    """The totals of the days marked dirty since they were last summed; returns days."""
    days = [str(r[0]) for r in db.execute(
        "SELECT day FROM usage_dirty_days WHERE NOT daily_current")]
    for day in days:
        for statement in _DAY_TOTALS:
            db.execute(statement, (day,))
    if days:
        db.execute("UPDATE usage_dirty_days SET daily_current = 1 WHERE NOT daily_current")
    return len(days)


def _rebuild_pairs(db: sqlite3.Connection, *, totals: bool) -> RefreshResult:
    """Every ranking roll-up from scratch; ``totals``: every day's totals too, each summed
    just after its day's pairs, while that day's ``usage`` rows are in cache (a second pass
    over every row reads them all from disk again)."""
    emptied = ("usage_pair_weeks", "usage_pair_days", "usage_pairs", "usage_dirty_days")
    for table in emptied + (("usage_daily",) if totals else ()):
        db.execute(f"DELETE FROM {table}")
    db.execute(_PAIRS_INSERT.format(where="1"))
    days = _usage_days(db)
    for day in days:  # the tables were just emptied: no DELETE per day
        db.execute(_PAIR_DAY_STATEMENTS[1], (day,))
        if totals:
            db.execute(_DAY_TOTALS[1], (day,))
    weeks = _rebuild_weeks(db, None)
    db.execute("DELETE FROM meta WHERE key = ?", (PAIRS_REBUILD_KEY,))
    _store_shape(db)
    return RefreshResult(True, len(days), weeks)


def _refresh_pairs(db: sqlite3.Connection) -> RefreshResult:
    """The ranking roll-ups of the dirty days (their totals are current) and the running
    totals from their first week on."""
    dirty = [str(r[0]) for r in db.execute("SELECT day FROM usage_dirty_days")]
    if not dirty:
        return RefreshResult(False, 0, 0)
    db.execute(_PAIRS_INSERT.format(where="day IN (SELECT day FROM usage_dirty_days)"))
    for day in dirty:
        for statement in _PAIR_DAY_STATEMENTS:
            db.execute(statement, (day,))
    days: list[date] = []
    for text in dirty:
        try:
            days.append(date.fromisoformat(text))
        except (TypeError, ValueError):
            continue  # a malformed day is in no period and starts no running totals
    weeks = _rebuild_weeks(db, min(days)) if days else 0
    db.execute("DELETE FROM usage_dirty_days")
    _store_shape(db)
    return RefreshResult(False, len(dirty), weeks)


def _refresh(db: sqlite3.Connection, full: bool, rankings: bool) -> RefreshResult:
    if full and rankings:
        return _rebuild_pairs(db, totals=True)
    totals = _rebuild_totals(db) if full else _refresh_totals(db)
    if not rankings:
        return RefreshResult(full, totals, 0)
    if _pairs_rebuild_due(db):
        return _rebuild_pairs(db, totals=False)
    pairs = _refresh_pairs(db)
    return RefreshResult(False, max(totals, pairs.days), pairs.weeks)


def refresh_usage_daily(engine: Engine, *, full: bool = False,
                        rankings: bool = True) -> RefreshResult:
    """Bring the usage roll-ups up to date with ``usage``: the totals, and (``rankings``)
    the ranking roll-ups. The sync calls it with ``rankings=False`` after writing.

    Cheap when nothing changed (two tiny reads, no write lock). ``full=True`` rebuilds all.
    """
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        assert isinstance(db, sqlite3.Connection)
        if not full and not is_stale(db, rankings=rankings):
            return RefreshResult(False, 0, 0)
        db.execute("BEGIN IMMEDIATE")  # one writer at a time; re-check under the lock
        try:
            if not triggers_present(db):
                for ddl in _TRIGGERS.values():
                    db.execute(ddl)
                full = True
            result = _refresh(db, full, rankings)
            if result.full or result.days:
                _bump_version(db)
        except BaseException:
            db.rollback()
            raise
        db.commit()
        return result
    finally:
        raw.close()


def cached_ranking(db: sqlite3.Connection, key: tuple[str, str, str, str],
                   version: int) -> str | None:
    """The stored ranking payload for (scope, start, end, metric) if still current."""
    row = db.execute(
        "SELECT payload FROM usage_rank_cache WHERE scope = ? AND start = ? AND \"end\" = ? "
        "AND metric = ? AND version = ?",
        (*key, version),
    ).fetchone()
    return str(row[0]) if row else None


def store_ranking(engine: Engine, key: tuple[str, str, str, str], version: int,
                  payload: str) -> bool:
    """Remember a ranking computed from roll-ups at ``version``; skipped (False) when the
    roll-ups moved on meanwhile or the cache cannot be written (read-only, busy)."""
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        assert isinstance(db, sqlite3.Connection)
        try:
            db.execute("PRAGMA busy_timeout=0")  # never hold a view up behind a sync
            db.execute("BEGIN IMMEDIATE")
            if data_version(db) != version:
                db.rollback()
                return False
            db.execute(
                "INSERT OR REPLACE INTO usage_rank_cache(scope, start, \"end\", metric, version, "
                "payload) VALUES (?, ?, ?, ?, ?, ?)",
                (*key, version, payload),
            )
            db.commit()
            return True
        except sqlite3.OperationalError:
            db.rollback()
            return False
    finally:
        raw.close()

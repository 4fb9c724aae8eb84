"""Usage analytics reads over the cache, fast at 1M usage rows.

Roll-ups kept by ``storage.usage_rollups`` keep every aggregate small:
- ``usage_daily`` (customer, day): totals, per-day series and per-customer totals;
- ``usage_pair_days`` and ``usage_pair_weeks``: rankings over any period read two week slices
  of running totals and the days at the period's edges; rankings are also cached per
  (scope, period, metric) until the roll-ups change (``usage_rank_cache``).
All reads of one view go through one ``UsageReader`` (one connection, one snapshot), opened by
``read_usage``, which refreshes the roll-ups first (only the totals when it will not rank).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import orjson
from sqlalchemy import Engine

from storage.usage_models import (
    CustomerRef,
    DayReconciliation,
    DayUsage,
    Metric,
    RankedCustomer,
    RankedUser,
    RankedWorkspace,
    Ranking,
    UsageAmounts,
    UsageExtent,
    WorkspaceActivity,
    amounts,
)
from storage.usage_rollups import (
    SHAPE_KEY,
    cached_ranking,
    data_version,
    is_stale,
    refresh_usage_daily,
    store_ranking,
    week_start,
)

RECONCILIATION_ORDER = ("failed", "delayed", "pending", "reconciled")  # worst first
MISSING = "missing"  # no usage_periods row for the day: the Console reported nothing
CACHED_TOP = 50  # rankings are cached with this many entries; larger requests recompute
MAX_DIRECT_DAYS = 400  # longer periods always read running totals (bounded IN lists)
Piece = tuple[str, list[str], int]  # (table, days or weeks, sign): slices summed per pair


def _metric_key(metric: Metric) -> int:
    return {"hours": 0, "credits": 1, "cost": 2}[metric]


def _scope(customer_id: str | None, column: str = "customer_id") -> tuple[str, tuple[str, ...]]:
    if customer_id is None:
        return "", ()
    return f" AND {column} = ?", (customer_id,)


class UsageReader:
    """Analytics queries on one SQLite connection and snapshot (open it with ``read_usage``)."""

    def __init__(self, db: sqlite3.Connection, engine: Engine | None = None, *,
                 rankings: bool = True) -> None:
        self.db = db
        self.engine = engine  # for storing computed rankings; None: do not cache
        self.version = data_version(db)
        self.rankings = rankings  # False: the ranking roll-ups may be behind; do not rank

    # -- totals and series ------------------------------------------------------------------

    def daily(self, customer_id: str | None, start: date, end: date) -> list[DayUsage]:
        """One entry per day of ``start..end`` (zero-filled), summed over the scope."""
        where, args = _scope(customer_id)
        rows = self.db.execute(
            "SELECT day, SUM(workspace_seconds), SUM(ai_credits_used), SUM(cost_usd), SUM(rows) "
            f"FROM usage_daily WHERE day BETWEEN ? AND ?{where} GROUP BY day",
            (start.isoformat(), end.isoformat(), *args),
        ).fetchall()
        found = {r[0]: amounts(r[1], r[2], r[3], r[4]) for r in rows}
        return [
            DayUsage(day, found.get(day.isoformat(), UsageAmounts()))
            for day in _each_day(start, end)
        ]

    def top_customers(self, start: date, end: date, limit: int = 10,
                      metric: Metric = "hours") -> list[RankedCustomer]:
        rows = self.db.execute(  # "+day": scan in key order, so no sort for GROUP BY
            "SELECT customer_id, SUM(workspace_seconds), SUM(ai_credits_used), SUM(cost_usd), "
            "SUM(rows) FROM usage_daily WHERE +day BETWEEN ? AND ? GROUP BY customer_id",
            (start.isoformat(), end.isoformat()),
        ).fetchall()
        k = _metric_key(metric) + 1
        rows.sort(key=lambda r: (-(r[k] or 0), r[0]))
        top = rows[: max(limit, 0)]
        names = self._names("customers", "name", [r[0] for r in top])
        return [
            RankedCustomer(r[0], names.get(r[0], ""), amounts(r[1], r[2], r[3], r[4]))
            for r in top
        ]

    def extent(self, customer_id: str | None) -> UsageExtent:
        where, args = _scope(customer_id)
        row = self.db.execute(
            f"SELECT MIN(day), MAX(day), COUNT(DISTINCT day) FROM usage_daily WHERE 1=1{where}",
            args,
        ).fetchone()
        return UsageExtent(
            date.fromisoformat(row[0]) if row[0] else None,
            date.fromisoformat(row[1]) if row[1] else None,
            int(row[2] or 0),
        )

    # -- rankings ---------------------------------------------------------------------------

    def _shape(self) -> tuple[float, float]:
        """(rows of a week slice, rows of a day slice) as the last refresh found them: pairs
        with usage, and pair-day rows per day."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (SHAPE_KEY,)).fetchone()
        try:
            pairs, rows, days = (int(x) for x in str(row[0]).split())
        except (TypeError, ValueError):
            return 2.0, 1.0  # unknown: a day as half of a week slice
        return float(max(pairs, 1)), max(rows, 1) / max(days, 1)

    def _plan(self, start: date, end: date) -> list[Piece]:
        """Slices whose signed sum per pair is each pair's sum over ``start..end``: the days
        themselves, or running totals through ``end`` minus those through the day before
        ``start``, whichever reads fewer rows by the cache's shape."""
        week_rows, day_rows = self._shape()
        # two queries: SQLite reads MIN or MAX off the key only as a query's one aggregate
        lo = self.db.execute("SELECT MIN(week) FROM usage_pair_weeks").fetchone()[0]
        hi = self.db.execute("SELECT MAX(week) FROM usage_pair_weeks").fetchone()[0]
        length = (end - start).days + 1
        direct: tuple[float, list[Piece]] = (
            length * day_rows if length <= MAX_DIRECT_DAYS else float("inf"),
            [("usage_pair_days", _days(start, end), 1)],
        )
        if lo is None:
            return []  # no usage cached at all
        first, last = date.fromisoformat(lo), date.fromisoformat(hi)

        def through(day: date, sign: int) -> tuple[float, list[Piece]]:
            """Running totals through ``day``: a week slice, with days added or taken off."""
            if day < first:
                return 0.0, []
            monday = week_start(day)
            if monday > last:
                return week_rows, [("usage_pair_weeks", [last.isoformat()], sign)]
            inside = (day - monday).days + 1  # days of day's week up to and including it
            week: Piece = ("usage_pair_weeks", [monday.isoformat()], sign)
            after: Piece = ("usage_pair_days",
                            _days(day + timedelta(days=1), monday + timedelta(days=6)), -sign)
            take_off = (week_rows + (7 - inside) * day_rows,
                        [week] + ([after] if inside < 7 else []))
            before = monday - timedelta(days=7)
            prior: list[Piece] = ([("usage_pair_weeks", [before.isoformat()], sign)]
                                  if before >= first else [])
            add_on = (len(prior) * week_rows + inside * day_rows,
                      [*prior, ("usage_pair_days", _days(monday, day), sign)])
            return min(take_off, add_on, key=lambda option: option[0])

        upto, below = through(end, 1), through(start - timedelta(days=1), -1)
        running = (upto[0] + below[0], upto[1] + below[1])
        return min(direct, running, key=lambda option: option[0])[1]

    def _pair_sums(self, customer_id: str | None, start: date, end: date) -> None:
        """Fill a fresh ``temp.rank_pairs`` (pair, s, c, k, n) with each pair's sums over the
        period in the scope (pairs whose rows all fell outside it end with ``n = 0``)."""
        self.db.execute("DROP TABLE IF EXISTS temp.rank_pairs")
        self.db.execute("CREATE TEMP TABLE rank_pairs (pair INTEGER PRIMARY KEY, s INTEGER, "
                        "c REAL, k REAL, n INTEGER)")
        where, args = _scope(customer_id)
        for table, keys, sign in self._plan(start, end):
            column = "week" if table == "usage_pair_weeks" else "day"
            self.db.execute(  # IN, not BETWEEN: with a customer, a seek per day or week
                f"INSERT INTO temp.rank_pairs SELECT pair, {sign} * workspace_seconds, "
                f"{sign} * ai_credits_used, {sign} * cost_usd, {sign} * rows FROM {table} "
                f"WHERE {column} IN ({', '.join('?' for _ in keys)}){where} "
                "ON CONFLICT(pair) DO UPDATE SET s = s + excluded.s, c = c + excluded.c, "
                "k = k + excluded.k, n = n + excluded.n",
                (*keys, *args),
            )

    def ranking(self, customer_id: str | None, start: date, end: date, limit: int = 10,
                metric: Metric = "hours") -> Ranking:
        """Top ``limit`` workspaces and users of the scope by ``metric``, with their names.

        Cached per (scope, period, metric) until the roll-ups change, so switching back to a
        period, or a period prepared after a sync, costs milliseconds."""
        if not self.rankings:
            raise RuntimeError("this reader was opened with rankings=False")
        limit = max(limit, 0)
        key = (customer_id or "", start.isoformat(), end.isoformat(), metric)
        if limit <= CACHED_TOP:
            payload = cached_ranking(self.db, key, self.version)
            if payload is not None:
                return _trim(_ranking_from_json(payload), limit)
        ranking = self._compute_ranking(customer_id, start, end, max(limit, CACHED_TOP), metric)
        if self.engine is not None and limit <= CACHED_TOP:
            store_ranking(self.engine, key, self.version, _ranking_to_json(ranking))
        return _trim(ranking, limit)

    def _compute_ranking(self, customer_id: str | None, start: date, end: date, limit: int,
                         metric: Metric) -> Ranking:
        column = {"hours": "s", "credits": "c", "cost": "k"}[metric]
        sums = "MIN(p.customer_id), SUM(a.s), SUM(a.c), SUM(a.k), SUM(a.n)"
        joined = "FROM temp.rank_pairs a JOIN usage_pairs p ON p.id = a.pair WHERE a.n > 0"
        try:
            self._pair_sums(customer_id, start, end)
            by_ws = self.db.execute(
                f"SELECT p.workspace_id, {sums} {joined} GROUP BY p.workspace_id "
                f"ORDER BY SUM(a.{column}) DESC, p.workspace_id LIMIT ?", (limit,)).fetchall()
            if not by_ws:  # no usage in the scope and period (then no user has any either)
                return Ranking([], [], 0, 0)
            by_user = self.db.execute(
                f"SELECT p.user_id, {sums} {joined} GROUP BY p.user_id "
                f"ORDER BY SUM(a.{column}) DESC, p.user_id LIMIT ?", (limit,)).fetchall()
            marks = ", ".join("?" for _ in by_user)
            per_user = dict(self.db.execute(  # workspaces with usage, for the top users only
                f"SELECT p.user_id, COUNT(DISTINCT p.workspace_id) {joined} "
                f"AND p.user_id IN ({marks}) GROUP BY p.user_id", [r[0] for r in by_user]))
            n_ws, n_users = self.db.execute(
                f"SELECT COUNT(DISTINCT p.workspace_id), COUNT(DISTINCT p.user_id) {joined}"
            ).fetchone()
        finally:
            self.db.execute("DROP TABLE IF EXISTS temp.rank_pairs")
        ws_info = self._rows_by_id("SELECT id, name, owner_email, status FROM workspaces",
                                   [r[0] for r in by_ws])
        user_info = self._rows_by_id("SELECT id, email, name FROM users",
                                     [r[0] for r in by_user])
        workspaces = []
        for ws, cust, secs, credits, cost, rows in by_ws:
            _, name, owner, status = ws_info.get(ws, (ws, "", "", ""))
            workspaces.append(RankedWorkspace(ws, name, cust, owner, status,
                                              amounts(secs, credits, cost, rows)))
        users = []
        for user, cust, secs, credits, cost, rows in by_user:
            _, email, name = user_info.get(user, (user, "", ""))
            users.append(RankedUser(user, email, name, cust, int(per_user.get(user, 0)),
                                    amounts(secs, credits, cost, rows)))
        return Ranking(workspaces, users, int(n_ws), int(n_users))

    # -- reconciliation ---------------------------------------------------------------------

    def reconciliation(self, customer_id: str | None, start: date,
                       end: date) -> list[DayReconciliation]:
        """Per day of ``start..end``: the worst reconciliation state in the scope (``missing``
        when the Console reported none), customers per state and the earliest provider
        coverage among them."""
        where, args = _scope(customer_id)
        rows = self.db.execute(
            "SELECT day, reconciliation, COUNT(*), MIN(provider_data_through) FROM usage_periods "
            f"WHERE day BETWEEN ? AND ?{where} GROUP BY day, reconciliation",
            (start.isoformat(), end.isoformat(), *args),
        ).fetchall()
        per_day: dict[str, tuple[dict[str, int], str | None]] = {}
        for day, state, n, through in rows:
            counts, earliest = per_day.get(day, ({}, None))
            counts[str(state)] = counts.get(str(state), 0) + int(n)
            if through is not None and (earliest is None or through < earliest):
                earliest = str(through)
            per_day[day] = (counts, earliest)
        out = []
        for day in _each_day(start, end):
            counts, earliest = per_day.get(day.isoformat(), ({}, None))
            out.append(DayReconciliation(day, _worst(counts), counts, earliest))
        return out

    def unreconciled(self, customer_id: str | None, start: date,
                     end: date) -> list[tuple[CustomerRef, date, str]]:
        """(customer, day, state) for each day of the period not reconciled, worst first."""
        where, args = _scope(customer_id, "p.customer_id")
        rows = self.db.execute(
            "SELECT p.customer_id, COALESCE(c.name, ''), p.day, p.reconciliation "
            "FROM usage_periods p LEFT JOIN customers c ON c.id = p.customer_id "
            f"WHERE p.day BETWEEN ? AND ? AND p.reconciliation != 'reconciled'{where}",
            (start.isoformat(), end.isoformat(), *args),
        ).fetchall()
        rank = {s: i for i, s in enumerate(RECONCILIATION_ORDER)}
        rows.sort(key=lambda r: (rank.get(r[3], -1), r[1], r[0], r[2]))
        return [(CustomerRef(r[0], r[1]), date.fromisoformat(r[2]), str(r[3])) for r in rows]

    # -- workspaces and customers -----------------------------------------------------------

    def workspace_activity(self, customer_id: str | None, start: date,
                           end: date) -> WorkspaceActivity:
        where, args = _scope(customer_id)
        lo = f"{start.isoformat()}T00:00:00"
        hi = f"{(end + timedelta(days=1)).isoformat()}T00:00:00"
        live = "('running', 'starting', 'stopping')"
        row = self.db.execute(
            "SELECT COUNT(*), "
            f"SUM(COALESCE(created_at, '') < ? AND (last_used_at >= ? OR status IN {live})), "
            f"SUM(last_used_at >= ? OR status IN {live}), SUM(status IN {live}), "
            f"MAX(last_used_at) FROM workspaces WHERE status != 'deleted'{where}",
            (hi, lo, hi, *args),
        ).fetchone()
        return WorkspaceActivity(
            int(row[0] or 0), int(row[1] or 0), int(row[2] or 0), int(row[3] or 0), row[4]
        )

    def usage_rows_by_customer(self, ids: Sequence[str], start: date,
                               end: date) -> dict[str, int]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        return {str(r[0]): int(r[1]) for r in self.db.execute(
            "SELECT customer_id, SUM(rows) FROM usage_daily WHERE day BETWEEN ? AND ? "
            f"AND customer_id IN ({marks}) GROUP BY customer_id",
            (start.isoformat(), end.isoformat(), *ids),
        )}

    def customers(self) -> list[CustomerRef]:
        return [CustomerRef(r[0], r[1]) for r in self.db.execute(
            "SELECT id, name FROM customers ORDER BY name, id"
        )]

    def customer(self, customer_id: str) -> CustomerRef | None:
        row = self.db.execute(
            "SELECT id, name FROM customers WHERE id = ?", (customer_id,)
        ).fetchone()
        return CustomerRef(row[0], row[1]) if row else None

    def counts(self) -> dict[str, int]:
        """Rows cached per table analytics reads (all zero: the cache was never synced)."""
        return {
            table: int(self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
            for table in ("customers", "usage", "usage_periods")
        }

    def _names(self, table: str, column: str, ids: Sequence[str]) -> dict[str, str]:
        rows = self._rows_by_id(f"SELECT id, {column} FROM {table}", ids)
        return {k: v[1] for k, v in rows.items()}

    def _rows_by_id(self, select: str, ids: Sequence[str]) -> dict[str, tuple[Any, ...]]:
        if not ids:
            return {}
        marks = ", ".join("?" for _ in ids)
        return {r[0]: tuple(r) for r in self.db.execute(f"{select} WHERE id IN ({marks})", ids)}


def provider_coverage(reconciliation: Sequence[DayReconciliation]) -> str | None:
    """How far provider data reaches for the whole scope: the earliest coverage reported for
    the period's last reported day (each customer's coverage only grows with the day)."""
    for day in reversed(reconciliation):
        if day.provider_data_through is not None:
            return day.provider_data_through
    return None


def _each_day(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def _days(first: date, last: date) -> list[str]:
    return [day.isoformat() for day in _each_day(first, last)]


def _worst(counts: dict[str, int]) -> str:
    for state in RECONCILIATION_ORDER:
        if counts.get(state):
            return state
    return next(iter(counts), MISSING)


def _trim(r: Ranking, limit: int) -> Ranking:
    return Ranking(r.workspaces[:limit], r.users[:limit], r.workspaces_with_usage,
                   r.users_with_usage)


def _ranking_to_json(r: Ranking) -> str:
    return orjson.dumps(r).decode()  # dataclasses serialise natively


def _ranking_from_json(payload: str) -> Ranking:
    data = orjson.loads(payload)
    return Ranking(
        [RankedWorkspace(**(w | {"amounts": UsageAmounts(**w["amounts"])}))
         for w in data["workspaces"]],
        [RankedUser(**(u | {"amounts": UsageAmounts(**u["amounts"])})) for u in data["users"]],
        int(data["workspaces_with_usage"]),
        int(data["users_with_usage"]),
    )


@contextmanager
def read_usage(engine: Engine, *, refresh: bool = True,
               rankings: bool = True) -> Iterator[UsageReader]:
    """A ``UsageReader`` on one connection and one read snapshot, with the roll-ups refreshed
    first (unless ``refresh=False``, for lookups that do not read them). ``rankings=False``
    refreshes only the totals, for a view without rankings (a blocker diagnosis); its reader
    refuses to rank."""
    raw = engine.raw_connection()
    try:
        db = raw.driver_connection
        assert isinstance(db, sqlite3.Connection)
        for _attempt in range(3):
            if refresh:
                _refresh_if_writable(engine, rankings)
            db.execute("BEGIN")  # one snapshot for every query of the view
            if not refresh or not is_stale(db, rankings=rankings):
                break
            db.rollback()  # a sync wrote between the refresh and the snapshot: once more
        try:
            yield UsageReader(db, engine if refresh else None, rankings=rankings)
        finally:
            db.rollback()
    finally:
        raw.close()


def _refresh_if_writable(engine: Engine, rankings: bool) -> None:
    try:
        refresh_usage_daily(engine, rankings=rankings)
    except sqlite3.OperationalError as exc:
        if "readonly" not in str(exc) and "read-only" not in str(exc):
            raise

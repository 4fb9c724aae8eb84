"""Bulk upserts through the DBAPI (the ORM's ``add_all`` is an order of magnitude slower).

``upsert_rows`` writes one page of rows (``storage.rows`` tuples, or dicts) in the caller's
transaction: live rows are inserted or updated, tombstones delete. Full syncs stamp rows with
a generation id so rows the server no longer lists can be pruned once the full sync completes
(``prune_generation``).
"""

from __future__ import annotations

import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import cache
from itertools import chain
from typing import Any

from pydantic_core import PydanticUndefined
from sqlalchemy import Connection

from storage.bulk_indexes import has_indexes
from storage.rows import COLUMNS, Row
from storage.schema import RESOURCE_TABLES

# Rows per INSERT statement: a power of two, bounded by SQLite's host-parameter limit (32766
# since 3.32). A page is cut into chunks of the largest such size and the remainder into
# smaller powers of two, so each table prepares at most 7 statement shapes. Preparing a
# multi-row VALUES costs more than its rows (it grows faster than linearly), while running one
# costs the same per row: small chunks keep a process's first sync from paying for preparing.
_MAX_PARAMS = 32_000
_MAX_ROWS = 64


def chunks(n: int, width: int) -> Iterator[tuple[int, int]]:
    """(start, size) pieces of ``n`` rows, sizes powers of two <= the parameter limit."""
    size = _MAX_ROWS
    while size * width > _MAX_PARAMS and size > 1:
        size //= 2
    start = 0
    while start < n:
        while size > n - start:
            size //= 2
        yield start, size
        start += size


@cache
def _columns(resource: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    table = RESOURCE_TABLES[resource].__table__  # type: ignore[attr-defined]
    cols = tuple(c.name for c in table.columns)
    keys = tuple(c.name for c in table.primary_key.columns)
    return table.name, cols, keys


@cache
def _defaults(resource: str) -> dict[str, Any]:
    """Column -> default value, so a row that omits a column still satisfies NOT NULL."""
    model = RESOURCE_TABLES[resource]
    _, cols, _ = _columns(resource)
    out: dict[str, Any] = {}
    for c in cols:
        field = model.model_fields.get(c)
        default = field.default if field is not None else None
        out[c] = None if default is PydanticUndefined else default
    return out


def _column_list(resource: str) -> str:
    """The columns a made row binds, in order, then ``sync_gen`` (if the table has it)."""
    _, cols, _ = _columns(resource)
    made = COLUMNS[resource]
    gen = "sync_gen" in cols
    assert set(made) | ({"sync_gen"} if gen else set()) == set(cols), resource
    return ", ".join(f'"{c}"' for c in (*made, *(("sync_gen",) if gen else ())))


@cache
def _insert_sql(resource: str, n_rows: int, into: str, tail: str = "") -> str:
    """``INSERT INTO into`` of ``n_rows`` rows of ``COLUMNS[resource]`` from ``?2`` on, then
    ``tail``; the table's ``sync_gen`` (if any) is ``?1``, bound once per statement rather than
    per row."""
    _, cols, _ = _columns(resource)
    width = len(COLUMNS[resource])
    gen = ["?1"] if "sync_gen" in cols else []
    values = ", ".join(
        "(" + ", ".join([f"?{2 + r * width + i}" for i in range(width)] + gen) + ")"
        for r in range(n_rows))
    return f"INSERT INTO {into} ({_column_list(resource)}) VALUES {values} {tail}"


@cache
def _on_conflict(resource: str) -> str:
    _, cols, keys = _columns(resource)
    updates = ", ".join(f'"{c}"=excluded."{c}"' for c in cols if c not in keys)
    conflict = ", ".join(f'"{k}"' for k in keys)
    return f"ON CONFLICT ({conflict}) DO UPDATE SET {updates}"


@cache
def _indexed(resource: str) -> frozenset[str]:
    """Columns some secondary index of the table holds."""
    table = RESOURCE_TABLES[resource].__table__  # type: ignore[attr-defined]
    return frozenset(c.name for index in table.indexes for c in index.columns)


@cache
def _staged_sql(resource: str, full: bool) -> tuple[str, str, str, str, str]:
    """(staging table name, CREATE it, narrow UPDATE, wide upsert, empty it) of
    ``_upsert_staged``; ``full``: a full sync's re-listing rather than an incremental page.

    The narrow UPDATE writes the columns no index holds, for rows whose indexed columns are
    all unchanged; the wide upsert takes the rest. An incremental page writes only rows whose
    ``updated_at`` moved (indexed or not, it moves: the narrow UPDATE sets it and requires it
    to differ); a full re-listing writes every row (its ``sync_gen`` at least)."""
    name, cols, keys = _columns(resource)
    stage = f'temp."_sync_{name}"'
    columns = _column_list(resource)
    indexed = _indexed(resource)
    moving = set() if full else {"updated_at"}
    narrow = [c for c in cols if c not in keys and (c not in indexed or c in moving)]
    same = [c for c in cols if c in indexed and c not in keys and c not in moving]
    t = f'"{name}"'
    changed = [f's."updated_at" IS NOT {t}."updated_at"'] if not full else []
    where = " AND ".join([f'{t}."{k}" = s."{k}"' for k in keys] + changed
                         + [f'{t}."{c}" IS s."{c}"' for c in same])
    if full:
        wide_where = " OR ".join(f'excluded."{c}" IS NOT {t}."{c}"' for c in same) or "false"
    else:
        # The Console bumps updated_at on every change: an equal one is a re-listed object
        # (the cursor overlap, or a row the narrow update just wrote), left alone, unreported.
        wide_where = f'excluded."updated_at" IS NOT {t}."updated_at"'
    returning = (f' RETURNING {t}."{keys[0]}"', f' RETURNING "{keys[0]}"') if not full \
        else ("", "")
    update = (f"UPDATE {t} SET " + ", ".join(f'"{c}" = s."{c}"' for c in narrow)
              + f" FROM {stage} AS s WHERE {where}{returning[0]}")
    upsert = (f"INSERT INTO {t} ({columns}) SELECT {columns} FROM {stage} WHERE true "
              f"{_on_conflict(resource)} WHERE {wide_where}{returning[1]}")
    return (stage, f'CREATE TEMP TABLE IF NOT EXISTS "_sync_{name}" ({columns})', update,
            upsert, f"DELETE FROM {stage}")


def _upsert_staged(raw: sqlite3.Connection, resource: str, fill: Callable[[str], None], *,
                   full: bool) -> list[str]:
    """Upsert that leaves unchanged index entries alone; returns the changed ids of an
    incremental page (a full sync's re-listing reports none).

    An ``ON CONFLICT DO UPDATE`` that sets every column rewrites every index entry of the row,
    changed or not: a re-synced row dirties a page of every index, and the WAL grows with
    them. Here rows go to a staging table first; those whose indexed columns
    are unchanged (the usual edit: a status message, a build's progress; nearly every row of a
    full re-sync) are updated without touching those indexes, and only the rest (new rows,
    moved rows) take the full upsert.
    """
    stage, create, update, upsert, clear = _staged_sql(resource, full)
    raw.execute(create)
    try:
        fill(stage)
        if full:
            raw.execute(update)
            raw.execute(upsert)
            return []
        changed = [r[0] for r in raw.execute(update).fetchall()]
        changed += [r[0] for r in raw.execute(upsert).fetchall()]
    finally:
        raw.execute(clear)
    return changed


def _insert_chunks(raw: sqlite3.Connection, resource: str, tuples: Sequence[Row],
                   sync_gen: str | None, sql: Callable[[int], str]) -> None:
    """``tuples`` in multi-row statements (``sql(size)``), ``sync_gen`` bound once each."""
    _, cols, _ = _columns(resource)
    for start, size in chunks(len(tuples), len(cols)):
        params = [sync_gen]
        params.extend(chain.from_iterable(tuples[start:start + size]))
        raw.execute(sql(size), params)


@cache
def _getter(resource: str) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    return operator.itemgetter(*COLUMNS[resource])


def _as_rows(resource: str, rows: Sequence[Row | dict[str, Any]]) -> Sequence[Row]:
    """Dict rows (tests, hand-made fixes) as column tuples, missing columns defaulted."""
    if not rows or type(rows[0]) is tuple:
        return rows  # type: ignore[return-value]
    template = _defaults(resource)
    get = _getter(resource)
    return [get(template | row) for row in rows]  # type: ignore[operator]


def _filler(raw: sqlite3.Connection, resource: str, rows: Sequence[Row | dict[str, Any]],
            sync_gen: str | None) -> Callable[..., None]:
    """``fill(table, tail="")``: inserts the page's rows into ``table`` (``sync_gen`` bound once
    per statement), each statement ending with ``tail`` (an ``ON CONFLICT`` clause)."""
    tuples = _as_rows(resource, rows)

    def insert(table: str, tail: str = "") -> None:
        _insert_chunks(raw, resource, tuples, sync_gen,
                       lambda size: _insert_sql(resource, size, table, tail))
    return insert


def upsert_rows(
    conn: Connection,
    resource: str,
    rows: Sequence[Row | dict[str, Any]],
    deleted_ids: Iterable[str] = (),
    sync_gen: str | None = None,
    *,
    only_changed: bool = False,
) -> list[str]:
    """Insert-or-update ``rows`` and delete ``deleted_ids`` for one resource.

    ``rows`` are ``storage.rows`` tuples (``COLUMNS[resource]`` order) or column dicts.
    With ``only_changed`` (incremental syncs), rows whose ``updated_at`` equals the cached one
    are skipped, and the ids of rows inserted, updated or deleted are returned (what derived
    data such as blockers must recompute); otherwise the returned list is empty.
    Incremental pages, and full syncs over a table that has its indexes, are staged
    (``_upsert_staged``) so that rows whose indexed columns did not move leave the indexes
    alone; a first full load (indexes deferred) inserts directly.

    Rows go in as multi-row ``INSERT ... VALUES (...), (...)`` statements, not ``executemany``:
    ``executemany`` re-takes the GIL for every row, and while another thread runs Python (the
    sync's event loop decoding the next page, the console) each re-take waits up to the 5 ms
    switch interval. Here SQLite runs a whole chunk GIL-free.
    """
    name, cols, _ = _columns(resource)
    raw = conn.connection.driver_connection
    assert raw is not None
    changed: list[str] = []
    only_changed = only_changed and "updated_at" in cols
    if rows:
        fill = _filler(raw, resource, rows, sync_gen)
        if only_changed:
            changed = _upsert_staged(raw, resource, fill, full=False)
        elif sync_gen is not None and has_indexes(raw, name):
            _upsert_staged(raw, resource, fill, full=True)
        else:
            fill(f'"{name}"', _on_conflict(resource))
    ids = [(i,) for i in deleted_ids]
    if ids:
        raw.executemany(f'DELETE FROM "{name}" WHERE id = ?', ids)
        if only_changed:
            changed.extend(i for (i,) in ids)
    return changed


def prune_generation(conn: Connection, resource: str, sync_gen: str) -> int:
    """After a complete full sync: drop rows the server did not list in generation ``sync_gen``."""
    name, cols, _ = _columns(resource)
    if "sync_gen" not in cols:
        return 0
    raw = conn.connection.driver_connection
    assert raw is not None
    cur = raw.execute(
        f'DELETE FROM "{name}" WHERE sync_gen IS NULL OR sync_gen != ?', (sync_gen,)
    )
    return int(cur.rowcount)


def upsert_build_logs(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.executemany(
        "INSERT OR REPLACE INTO build_logs (build_id, id, created_at, stage, level, output) "
        "VALUES (:build_id, :id, :created_at, :stage, :level, :output)",
        rows,
    )

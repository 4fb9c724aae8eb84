"""Deferred secondary indexes for the first full load of a table.

Filling an empty table and then building its indexes is several times faster than maintaining
eight indexes row by row (bench/README.md). The dropped indexes' SQL is kept in ``meta`` until
they are rebuilt, so an interrupted sync (even ``kill -9``) rebuilds them when it resumes or
completes; readers meanwhile only run slower.
"""

from __future__ import annotations

import json
import sqlite3

from sqlalchemy import Connection

_KEY = "deferred_indexes:"
# A table's own secondary indexes (not the automatic ones behind its primary key)
_SECONDARY = ("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
              "AND sql IS NOT NULL")


def has_indexes(db: sqlite3.Connection, table: str) -> bool:
    """Whether ``table`` has secondary indexes (a first full load defers them)."""
    return db.execute(_SECONDARY + " LIMIT 1", (table,)).fetchone() is not None


def defer_indexes(conn: Connection, table: str) -> int:
    """Drop ``table``'s secondary indexes if it is empty; returns how many were dropped."""
    if conn.exec_driver_sql(f'SELECT 1 FROM "{table}" LIMIT 1').first() is not None:
        return 0
    found = conn.exec_driver_sql(_SECONDARY, (table,)).all()
    if not found:
        return 0
    kept = json.loads(_stored(conn, table) or "[]") + [sql for _, sql in found]
    conn.exec_driver_sql("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)",
                         (_KEY + table, json.dumps(kept)))
    for name, _ in found:
        conn.exec_driver_sql(f'DROP INDEX IF EXISTS "{name}"')
    return len(found)


def restore_indexes(conn: Connection, table: str) -> int:
    """Re-create what ``defer_indexes`` dropped (idempotent); returns how many."""
    stored = _stored(conn, table)
    if stored is None:
        return 0
    statements = json.loads(stored)
    for sql in statements:
        conn.exec_driver_sql(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1))
    conn.exec_driver_sql("DELETE FROM meta WHERE key = ?", (_KEY + table,))
    return len(statements)


def _stored(conn: Connection, table: str) -> str | None:
    row = conn.exec_driver_sql("SELECT value FROM meta WHERE key = ?", (_KEY + table,)).first()
    return row[0] if row else None

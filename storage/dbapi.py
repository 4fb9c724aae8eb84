"""The cache file at the sqlite3 (DB-API) level: PRAGMAs, plain connections, the stored schema
version, and helpers for reads that bypass SQLAlchemy (``storage.db.reading``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# A row read as column name -> value (``storage.rows`` makes rows to write: value tuples).
RowDict = dict[str, Any]
CACHE_SIZE = "PRAGMA cache_size=-32000"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA temp_store=MEMORY",
    CACHE_SIZE,
)


class CacheError(Exception):
    """The cache file cannot be used; the message says what to do."""


def make_directory(path: Path) -> None:
    """The cache file's directory and the file itself, private whatever the umask: created
    0700 and 0600, or tightened to that if others could read them (``ism_tui.private_files``;
    refused, with what to do, when they belong to another user)."""
    from ism_tui.private_files import NotPrivate, private_database

    try:
        private_database(path)
    except NotPrivate as exc:
        raise CacheError(str(exc)) from exc
    except OSError as exc:
        raise CacheError(f"cannot create the cache {path}: {exc.strerror}") from exc


def unreadable(path: Path | None, exc: Exception) -> CacheError:
    return CacheError(
        f"the cache file {path} is not a readable SQLite database ({exc.__class__.__name__}); "
        "delete it and run `ism-tui sync --full`"
    )


def stored_version(db: sqlite3.Connection) -> int | None:
    """The schema version written in the cache, None for a new (or foreign) file."""
    if db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='meta'").fetchone() \
            is None:
        return None
    row = db.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
    return int(row[0]) if row else None


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=5.0, check_same_thread=False, isolation_level=None)
    for pragma in PRAGMAS:
        db.execute(pragma)
    return db


def dict_rows(cursor: sqlite3.Cursor) -> list[RowDict]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@contextmanager
def scanning(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``db`` with a 2 MB page cache meanwhile, for reads that visit each page once (a table
    scan): the connection's usual 32 MB would fill with pages read once, memory that stays
    (and costs no time to skip)."""
    db.execute("PRAGMA cache_size=-2000")
    try:
        yield db
    finally:
        db.execute(CACHE_SIZE)

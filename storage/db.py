"""Opening the cache: one SQLite file per profile, WAL, schema version with rebuild.

SQLAlchemy is imported inside the functions that need it, so that opening the console does not
import it before its first paint (``storage.dbapi``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.dbapi import PRAGMAS, Cache, make_directory, reading, stored_version, unreadable
from storage.dbapi import CacheError as CacheError
from storage.version import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _on_checkin(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    """A pooled connection keeps no page cache while idle: up to 32 MB each otherwise, and a
    sync or blocker recompute fills several (peak RSS of the 100k sync: 295 MB, 253 MB with
    this, 251 MB unpooled). Pages come back from the OS's file cache when next needed."""
    if dbapi_conn is not None:
        dbapi_conn.execute("PRAGMA shrink_memory")


def make_engine(path: Path | str) -> Engine:
    """An engine for the cache at ``path`` (created if missing), schema ensured.

    A connection is checked out by one user at a time (thread workers never share one) and
    readers keep reading (WAL) while a sync writes. Connections are pooled: opening one with
    its PRAGMAs cost ~0.5 ms, and a blocker recompute or a screen refresh opens dozens.
    Overflow is unbounded so no caller ever waits for a connection.
    """
    from sqlalchemy import create_engine, event
    from sqlalchemy.pool import QueuePool

    path = Path(path)
    make_directory(path)
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=8,
        max_overflow=-1,
        connect_args={"check_same_thread": False, "timeout": 5.0},
    )
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "checkin", _on_checkin)
    ensure_schema(engine, path)
    return engine


def ensure_schema(engine: Engine, path: Path | None = None) -> None:
    """Create the schema; rebuild the whole cache when its version differs (it is a cache)."""
    try:
        with reading(engine) as db:
            version = stored_version(db)
    except Exception as exc:  # a corrupt or foreign file
        raise unreadable(path, exc) from exc
    if version == SCHEMA_VERSION:
        return  # current: every table exists (the SQLModel classes need not even be imported)
    from sqlmodel import SQLModel

    from storage import schema  # noqa: F401  (registers the tables on SQLModel.metadata)

    if version is not None:
        with engine.begin() as conn:
            names = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
                )
            ]
            for name in names:
                if name != "local_audit":  # the local audit trail survives a rebuild
                    conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    SQLModel.metadata.create_all(engine)
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(
            text("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', :v)"),
            {"v": str(SCHEMA_VERSION)},
        )


def get_meta(engine: Engine | Cache, key: str) -> str | None:
    with reading(engine) as db:
        row = db.execute("SELECT value FROM meta WHERE key=:k", {"k": key}).fetchone()
    return str(row[0]) if row else None


def set_meta(engine: Engine | Cache, key: str, value: str) -> None:
    """One meta value, committed at once (on a ``Cache``, without making the engine)."""
    with reading(engine) as db:
        db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (:k, :v)",
                   {"k": key, "v": value})
        if db.in_transaction:  # an engine's connection opens one implicitly
            db.commit()

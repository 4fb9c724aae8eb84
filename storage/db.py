"""Opening the cache: one SQLite file per profile, WAL, schema version with rebuild.

Importing SQLAlchemy is a third of the console's start-up, so it is imported inside the
functions that need it. ``Cache`` makes the SQLAlchemy engine only when something first needs it
(a write, the ORM, most services), while the reads the first paint makes (freshness, who the
token is, a table's count and window, a detail pane) go through ``reading``, which takes a
``Cache`` or an ``Engine`` alike and yields a sqlite3 connection. Those reads use named
parameters (``:name``), which sqlite3 binds as is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.dbapi import PRAGMAS, connect, make_directory, stored_version, unreadable
from storage.dbapi import CacheError as CacheError
from storage.version import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.pool import PoolProxiedConnection

_IDLE = 4  # plain connections kept for reuse (a screen's reads run on up to ~3 threads)


def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    for pragma in PRAGMAS:
        cur.execute(pragma)
    cur.close()


def _on_checkin(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    """A pooled connection keeps no page cache while idle: up to 32 MB each otherwise, and a
    sync or blocker recompute fills several, which held the sync's peak memory up. Pages come
    back from the OS's file cache when next needed."""
    if dbapi_conn is not None:
        dbapi_conn.execute("PRAGMA shrink_memory")


def make_engine(path: Path | str) -> Engine:
    """An engine for the cache at ``path`` (created if missing), schema ensured.

    A connection is checked out by one user at a time (thread workers never share one) and
    readers keep reading (WAL) while a sync writes. Connections are pooled: opening one runs
    its PRAGMAs, and a blocker recompute or a screen refresh opens dozens.
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


class Cache:
    """One profile's cache file. ``engine`` is the SQLAlchemy engine, made on first use (and
    at once when the file is new or of another schema version, so the schema is rebuilt);
    ``read()`` lends a plain sqlite3 connection. ``connect``, ``begin``, ``raw_connection``
    and ``dispose`` are the engine's, so code written for an ``Engine`` works on a ``Cache``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._engine: Engine | None = None
        self._idle: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._making = threading.Lock()
        make_directory(self.path)
        current = False
        if self.path.exists():
            try:
                with self.read() as db:
                    current = stored_version(db) == SCHEMA_VERSION
            except sqlite3.DatabaseError as exc:  # a corrupt or foreign file
                raise unreadable(self.path, exc) from exc
        if not current:
            self.engine  # noqa: B018  (creates or rebuilds the schema now)

    @property
    def engine(self) -> Engine:
        with self._making:  # a worker and the screen may ask first at the same moment
            if self._engine is None:
                self._engine = make_engine(self.path)
            return self._engine

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            db = self._idle.pop() if self._idle else None
        if db is None:
            db = connect(self.path)
        try:
            yield db
        finally:
            if db.in_transaction:
                db.rollback()
            db.execute("PRAGMA shrink_memory")  # idle, it keeps no page cache (storage.db)
            with self._lock:
                if len(self._idle) < _IDLE:
                    self._idle.append(db)
                    db = None
            if db is not None:
                db.close()

    def connect(self) -> Connection:
        return self.engine.connect()

    def begin(self) -> Any:
        return self.engine.begin()

    def raw_connection(self) -> PoolProxiedConnection:
        return self.engine.raw_connection()

    def dispose(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            db.close()
        if self._engine is not None:
            self._engine.dispose()


@contextmanager
def reading(db: Engine | Cache) -> Iterator[sqlite3.Connection]:
    """A sqlite3 connection to read from: the cache's own when given a ``Cache`` (no
    SQLAlchemy import), or one of the engine's pool."""
    if isinstance(db, Cache):
        with db.read() as conn:
            yield conn
        return
    raw = db.raw_connection()
    try:
        driver = raw.driver_connection
        assert isinstance(driver, sqlite3.Connection)
        yield driver
    finally:
        raw.close()


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

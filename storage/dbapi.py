"""The cache file, opened without SQLAlchemy: plain sqlite3 reads for the console's first paint.

Importing SQLAlchemy costs ~180 ms, a third of the console's start-up. ``Cache`` makes the
SQLAlchemy engine only when something first needs it (a write, the ORM, most services), while
the reads the first paint makes (freshness, who the token is, a table's count and window, a
detail pane) go through ``reading``, which takes a ``Cache`` or an ``Engine`` alike and yields a
sqlite3 connection. Those reads use named parameters (``:name``), which sqlite3 binds as is.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from storage.version import SCHEMA_VERSION

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine
    from sqlalchemy.pool import PoolProxiedConnection

CACHE_SIZE = "PRAGMA cache_size=-32000"
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=OFF",
    "PRAGMA temp_store=MEMORY",
    CACHE_SIZE,
)
_IDLE = 4  # plain connections kept for reuse (a screen's reads run on up to ~3 threads)


class CacheError(Exception):
    """The cache file cannot be used; the message says what to do."""


def make_directory(path: Path) -> None:
    """The cache file's directory and the file itself, private whatever the umask: created
    0700 and 0600, or tightened to that if others could read them (``ism_tui.private_files``;
    refused, with what to do, when they belong to another user). SQLite gives the WAL and
    shared-memory files the database file's mode; ones left with another are tightened too."""
    from ism_tui.private_files import NotPrivate, private_directory, private_file

    try:
        private_directory(path.parent, tighten=True)
        private_file(path)
        for companion in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if companion.exists():
                private_file(companion)
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
                from storage.db import make_engine

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


def dict_rows(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@contextmanager
def scanning(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``db`` with a 2 MB page cache meanwhile, for reads that visit each page once (a table
    scan): the connection's usual 32 MB would fill with pages read once, ~30 MB of RSS that
    stays (the blocker snapshot of the 100k scale cache: +32 MB instead of +62, same time)."""
    db.execute("PRAGMA cache_size=-2000")
    try:
        yield db
    finally:
        db.execute(CACHE_SIZE)

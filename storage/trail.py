"""The lead's triage trail: a durable SQLite file of its own, beside the cache.

The cache is disposable (a schema change rebuilds it); the trail is not: it holds what the lead
did (state, ticket, note per blocker), what each sync changed, and the console's sessions. It
has its own schema version (``PRAGMA user_version``) and migrations that only ever move it
forward. Every edit commits at once (WAL), so a ``kill -9`` loses nothing already acknowledged.
Blockers are keyed by their id, ``<case>:<subject id>[:<detail>]``: made of the Console's own
ids, so it is the same across syncs and cache rebuilds.

Plain sqlite3 (no SQLAlchemy): the Triage tab reads it on its first paint.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from storage.dbapi import RowDict, dict_rows

# (marks by id, meta) -> (new marks, changed marks, events, meta to set)
Plan = Callable[[dict[str, RowDict], dict[str, str]],
                tuple[list[RowDict], list[RowDict], list[RowDict], dict[str, str]]]

# Each entry moves the file one version on; never edit one that has shipped, append another.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE marks (
        blocker_id TEXT PRIMARY KEY,
        state TEXT NOT NULL DEFAULT 'new',
        ticket TEXT,
        ticket_where TEXT,
        snoozed_until TEXT,
        note TEXT,
        lead TEXT,
        state_at TEXT,
        "case" TEXT,
        severity INTEGER,
        customer_id TEXT,
        customer TEXT,
        subject TEXT,
        summary TEXT,
        since TEXT,
        present INTEGER NOT NULL DEFAULT 1,
        first_seen_at TEXT,
        resolved_at TEXT,
        reopened INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX marks_queue ON marks (present, state, lead);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        blocker_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}',
        lead TEXT
    );
    CREATE INDEX events_at ON events (at);
    CREATE INDEX events_blocker ON events (blocker_id);
    CREATE TABLE sessions (
        id INTEGER PRIMARY KEY,
        lead TEXT,
        started_at TEXT NOT NULL,
        last_at TEXT NOT NULL
    );
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
    """,
    # when a sync ended a snooze early because the blocker got worse
    "ALTER TABLE marks ADD COLUMN woken_at TEXT",
)
SCHEMA_VERSION = len(MIGRATIONS)
MARK_FIELDS = ("blocker_id", "state", "ticket", "ticket_where", "snoozed_until", "note", "lead",
               "state_at", "case", "severity", "customer_id", "customer", "subject", "summary",
               "since", "present", "first_seen_at", "resolved_at", "reopened", "woken_at")


def _quoted(names: Iterable[str], suffix: str = "") -> str:
    """Column names (only ever ``MARK_FIELDS``, never input) quoted: ``case`` is a keyword."""
    unknown = set(names) - set(MARK_FIELDS)
    if unknown:
        raise ValueError(f"not a mark column: {sorted(unknown)}")
    return ", ".join(f'"{n}"{suffix}' for n in names)


_COLUMNS = _quoted(MARK_FIELDS)


TAKEN = ("working", "escalated", "waiting", "snoozed")  # states where the lead has it in hand
_TAKEN_SQL = ", ".join(f"'{s}'" for s in TAKEN)
# Filter words -> the marks in the queue they select (``now``: snoozes end; ``lead``: whose
# they are). "is:handled" is every mark that no longer reads as new: "is:new" is the rest.
# Only blockers the last sync saw are asked for: the resolved ones are not in the queue.
# (What a snooze hides is decided by ``ism_tui.triage.trail.hidden_by_snooze``, not here.)
_WORDS: dict[str, str] = {
    "is:working": "state = 'working'",
    "is:escalated": "state = 'escalated'",
    "is:waiting": "state = 'waiting'",
    "is:reopened": "reopened = 1",
    "is:mine": f"lead = :lead AND state IN ({_TAKEN_SQL})",
    "is:handled": "state != 'new' AND NOT (state = 'snoozed' AND snoozed_until <= :now)",
}
TRAIL_WORDS = tuple(w for w in _WORDS if w != "is:handled")


def word_condition(word: str, lead: str, now: str) -> tuple[str, dict[str, Any]]:
    """The ``marks`` condition of one filter word, with its parameters."""
    return f"present = 1 AND {_WORDS[word]}", {"lead": lead, "now": now}


class TrailError(Exception):
    """The trail file cannot be used; the message says why and what to do."""


def trail_path(cache_path: Path) -> Path:
    """``<cache dir>/triage/<profile>.sqlite3``: beside the profile's cache, in a directory
    only its owner may enter."""
    return cache_path.parent / "triage" / cache_path.name


def _make_private(path: Path) -> None:
    """The trail's directory and file (and SQLite's companions) 0700 and 0600 whatever the
    umask, tightened if others could read them (``ism_tui.private_files``)."""
    from ism_tui.private_files import NotPrivate, private_database

    try:
        private_database(path)
    except NotPrivate as exc:
        raise TrailError(str(exc)) from exc
    except OSError as exc:
        raise TrailError(f"cannot create the triage trail {path}: {exc.strerror}") from exc


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Apply the migrations this file has not had, each in its own transaction."""
    version = int(db.execute("PRAGMA user_version").fetchone()[0])
    if version > SCHEMA_VERSION:
        raise TrailError(f"{path} was written by a newer ism-tui (trail schema {version}, this "
                         f"one knows {SCHEMA_VERSION}); upgrade ism-tui. The file is left as is.")
    for number in range(version, SCHEMA_VERSION):
        db.execute("BEGIN IMMEDIATE")
        try:
            for statement in MIGRATIONS[number].split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {number + 1}")
        except BaseException:
            db.rollback()
            raise
        db.commit()


class TrailStore:
    """One profile's trail file. Methods are safe to call from several threads (one
    connection, used under a lock: every call is a few milliseconds at most)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        _make_private(path)
        try:
            self._db = sqlite3.connect(path, timeout=5.0, check_same_thread=False,
                                       isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # WAL: a killed process loses nothing
            self._db.execute("PRAGMA busy_timeout=5000")
            migrate(self._db, path)
        except sqlite3.DatabaseError as exc:
            raise TrailError(f"the triage trail {path} is not a readable SQLite database "
                             f"({exc.__class__.__name__}); move it aside to start a new one"
                             ) from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            yield self._db

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.rollback()
                raise
            self._db.commit()

    # ------------------------------------------------------------------ meta

    def get_meta(self, key: str) -> str | None:
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ------------------------------------------------------------------ marks

    def mark(self, blocker_id: str) -> RowDict | None:
        with self._read() as db:
            found = dict_rows(db.execute(f"SELECT {_COLUMNS} FROM marks WHERE blocker_id = ?",
                                         (blocker_id,)))
        return found[0] if found else None

    def marks_of(self, ids: Sequence[str]) -> dict[str, RowDict]:
        """The marks of these blockers (a table window's), by id."""
        if not ids:
            return {}
        marks = ", ".join("?" * len(ids))
        with self._read() as db:
            rows = dict_rows(db.execute(
                f"SELECT {_COLUMNS} FROM marks WHERE blocker_id IN ({marks})", tuple(ids)))
        return {r["blocker_id"]: r for r in rows}

    def marks(self, where: str = "", params: Sequence[Any] | dict[str, Any] = ()) -> list[RowDict]:
        sql = f"SELECT {_COLUMNS} FROM marks" + (f" WHERE {where}" if where else "")
        with self._read() as db:
            return dict_rows(db.execute(sql + " ORDER BY severity DESC, blocker_id", params))

    def ids(self, where: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[str]:
        with self._read() as db:
            return [str(r[0]) for r in db.execute(
                f"SELECT blocker_id FROM marks WHERE {where}", params)]

    def edit(self, blocker_id: str, known: RowDict, changes: RowDict,
             event: RowDict | None) -> RowDict:
        """Set ``changes`` on the blocker's mark (made from ``known`` if it has none), with its
        event, in one commit; returns the mark as stored."""
        with self._write() as db:
            exists = db.execute("SELECT 1 FROM marks WHERE blocker_id = ?",
                                (blocker_id,)).fetchone()
            if exists is None:
                row = {**known, "blocker_id": blocker_id}
                names = [f for f in MARK_FIELDS if f in row]
                db.execute(f"INSERT INTO marks ({_quoted(names)}) "
                           f"VALUES ({', '.join('?' * len(names))})", tuple(row[n] for n in names))
            if changes:
                db.execute(f"UPDATE marks SET {_quoted(changes, ' = ?')} WHERE blocker_id = ?",
                           (*changes.values(), blocker_id))
            if event is not None:
                _events(db, [{**event, "blocker_id": blocker_id}])
            found = dict_rows(db.execute(f"SELECT {_COLUMNS} FROM marks WHERE blocker_id = ?",
                                         (blocker_id,)))
        return found[0]

    def record(self, plan: Plan) -> None:
        """What one sync changed, in one write transaction: ``plan(marks, meta)`` is given
        every mark's sync-facing fields and state (by id) and the meta values, and returns the
        new marks, the changed ones (each names ``blocker_id`` and the columns it sets), their
        events and meta values to set. Reading and writing in one transaction means two
        syncs recording at once (the console's and ``ism-tui sync``) never both count the
        same change."""
        with self._write() as db:
            known = {r["blocker_id"]: r for r in dict_rows(db.execute(
                'SELECT blocker_id, present, severity, since, summary, customer, subject, '
                '"case", customer_id, state, snoozed_until FROM marks'))}
            meta = {str(k): str(v) for k, v in db.execute("SELECT key, value FROM meta")}
            inserts, updates, events, new_meta = plan(known, meta)
            for row in inserts:
                names = [f for f in MARK_FIELDS if f in row]
                db.execute(f"INSERT OR REPLACE INTO marks ({_quoted(names)}) "
                           f"VALUES ({', '.join('?' * len(names))})", tuple(row[n] for n in names))
            for row in updates:
                cols = [k for k in row if k != "blocker_id"]
                db.execute(f"UPDATE marks SET {_quoted(cols, ' = ?')} WHERE blocker_id = ?",
                           (*(row[c] for c in cols), row["blocker_id"]))
            _events(db, events)
            db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                           new_meta.items())

    # ------------------------------------------------------------------ events, sessions

    def events(self, since: str | None = None, kinds: Iterable[str] | None = None,
               blocker_id: str | None = None) -> list[RowDict]:
        clauses, params = [], []
        if since:
            clauses.append("at >= ?")
            params.append(since)
        if kinds is not None:
            chosen = list(kinds)
            clauses.append(f"kind IN ({', '.join('?' * len(chosen))})")
            params += chosen
        if blocker_id is not None:
            clauses.append("blocker_id = ?")
            params.append(blocker_id)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._read() as db:
            return dict_rows(db.execute(f"SELECT at, blocker_id, kind, detail, lead FROM events"
                                        f"{where} ORDER BY at, id", params))

    def start_session(self, lead: str, at: str) -> tuple[int, RowDict | None]:
        """A new session's id, and the one before it (None for the first)."""
        with self._write() as db:
            before = dict_rows(db.execute(
                "SELECT id, lead, started_at, last_at FROM sessions ORDER BY id DESC LIMIT 1"))
            cur = db.execute("INSERT INTO sessions (lead, started_at, last_at) VALUES (?, ?, ?)",
                             (lead, at, at))
        return int(cur.lastrowid or 0), (before[0] if before else None)

    def touch_session(self, session_id: int, at: str) -> None:
        with self._write() as db:
            db.execute("UPDATE sessions SET last_at = ? WHERE id = ?", (at, session_id))

    def last_session(self) -> RowDict | None:
        with self._read() as db:
            found = dict_rows(db.execute(
                "SELECT id, lead, started_at, last_at FROM sessions ORDER BY id DESC LIMIT 1"))
        return found[0] if found else None


def _events(db: sqlite3.Connection, events: list[RowDict]) -> None:
    db.executemany("INSERT INTO events (at, blocker_id, kind, detail, lead) VALUES "
                   "(:at, :blocker_id, :kind, :detail, :lead)",
                   [{"detail": "{}", "lead": None, **e} for e in events])

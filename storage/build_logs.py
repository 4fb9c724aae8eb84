"""Reading cached build logs (table ``build_logs``, keyed by build id and log id) in windows.

A viewer never loads a whole log: it reads a window by position (``read_window``), the lines
after the last one it has (``read_after``, for follow mode), the last N (``tail``), or matches
(``search`` then ``position_of`` to jump there). Every query walks the primary key index
``(build_id, id)``. Lines are marked when they explain a failure: level ``error``, or the
failing stage of the build (from the cached workspace row).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, text

from ism_tui.private_files import write_private
from ism_tui.redact import scrub
from storage.upsert import upsert_build_logs

_SELECT = "SELECT id, build_id, created_at, stage, level, output FROM build_logs"


@dataclass(frozen=True)
class LogLine:
    id: int
    build_id: str
    created_at: str
    stage: str
    level: str
    output: str
    marked: bool = False  # an error line, or a line of the failing stage

    def render(self) -> str:
        """One plain-text line: ``time [stage] LEVEL output`` (already sanitised at ingest)."""
        clock = self.created_at[11:19] if len(self.created_at) >= 19 else self.created_at
        return f"{clock} [{self.stage}] {self.level.upper():5} {self.output}"


@dataclass(frozen=True)
class BuildLogInfo:
    """What a viewer shows in its header: size, last id, failing stage, first error."""

    build_id: str
    lines: int
    last_id: int | None
    failing_stage: str | None
    first_error_id: int | None
    error_lines: int


def store_log_rows(engine: Engine, rows: Sequence[dict[str, Any]]) -> int:
    """Write log rows (``storage.rows.build_log_row`` dicts); returns how many."""
    if rows:
        with engine.begin() as conn:
            upsert_build_logs(conn, rows)
    return len(rows)


def failing_stage(engine: Engine, build_id: str) -> str | None:
    """The failing stage Console reported for the build, if it is a workspace's latest build."""
    with engine.connect() as conn:
        return _failing_stage(conn, build_id)


def _failing_stage(conn: Connection, build_id: str) -> str | None:
    row = conn.execute(
        text("SELECT build_failing_stage FROM workspaces WHERE build_id = :b LIMIT 1"),
        {"b": build_id},
    ).first()
    return row[0] if row and row[0] else None


def _lines(rows: Iterable[Any], stage: str | None) -> list[LogLine]:
    return [
        LogLine(
            id=r[0], build_id=r[1], created_at=r[2] or "", stage=r[3] or "", level=r[4] or "",
            output=r[5] or "", marked=r[4] == "error" or (stage is not None and r[3] == stage),
        )
        for r in rows
    ]


def _query(engine: Engine, build_id: str, where: str, order: str, limit: int,
           **params: Any) -> list[LogLine]:
    sql = f"{_SELECT} WHERE build_id = :b {where} ORDER BY id {order} LIMIT :limit"
    with engine.connect() as conn:
        stage = _failing_stage(conn, build_id)
        rows = conn.execute(text(sql), {"b": build_id, "limit": limit, **params}).all()
    return _lines(rows, stage)


def _check(limit: int, name: str = "limit") -> int:
    if limit < 0:
        raise ValueError(f"{name} must not be negative, got {limit}")
    return min(limit, 100_000)


def count_lines(engine: Engine, build_id: str) -> int:
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM build_logs WHERE build_id = :b"), {"b": build_id}
        ).scalar_one()
    return int(n)


def last_log_id(engine: Engine, build_id: str) -> int | None:
    """The highest cached log id of a build: fetch and follow resume after it."""
    with engine.connect() as conn:
        value = conn.execute(
            text("SELECT max(id) FROM build_logs WHERE build_id = :b"), {"b": build_id}
        ).scalar_one()
    return int(value) if value is not None else None


def info(engine: Engine, build_id: str) -> BuildLogInfo:
    with engine.connect() as conn:
        stage = _failing_stage(conn, build_id)
        n, last, first_err, errors = conn.execute(
            text(
                "SELECT count(*), max(id), min(CASE WHEN level = 'error' THEN id END), "
                "sum(level = 'error') FROM build_logs WHERE build_id = :b"
            ),
            {"b": build_id},
        ).one()
    return BuildLogInfo(build_id, int(n), last, stage, first_err, int(errors or 0))


def read_window(engine: Engine, build_id: str, offset: int, limit: int) -> list[LogLine]:
    """Lines ``offset`` .. ``offset+limit-1`` in log order (what a scrolled viewer shows)."""
    _check(offset, "offset")
    sql = f"{_SELECT} WHERE build_id = :b ORDER BY id LIMIT :limit OFFSET :offset"
    with engine.connect() as conn:
        stage = _failing_stage(conn, build_id)
        rows = conn.execute(
            text(sql), {"b": build_id, "limit": _check(limit), "offset": offset}
        ).all()
    return _lines(rows, stage)


def read_after(
    engine: Engine, build_id: str, after_id: int | None = None, limit: int = 1000
) -> list[LogLine]:
    """Lines with an id above ``after_id`` (all from the start if None), oldest first."""
    return _query(engine, build_id, "AND id > :after", "ASC", _check(limit),
                  after=-1 if after_id is None else after_id)


def tail(engine: Engine, build_id: str, n: int = 50) -> list[LogLine]:
    """The last ``n`` lines, oldest first."""
    lines = _query(engine, build_id, "", "DESC", _check(n, "n"))
    lines.reverse()
    return lines


def error_lines(engine: Engine, build_id: str, limit: int = 50) -> list[LogLine]:
    """The marked lines (errors and the failing stage's lines), oldest first."""
    stage = failing_stage(engine, build_id)
    return _query(
        engine, build_id, "AND (level = 'error' OR stage = :stage)", "ASC", _check(limit),
        stage=stage if stage is not None else "\x00",
    )


def _like(query: str) -> str:
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search(
    engine: Engine, build_id: str, query: str, limit: int = 200, after_id: int | None = None
) -> list[LogLine]:
    """Lines whose output or stage contains ``query`` (case-insensitive for ASCII), oldest
    first, starting after ``after_id`` (pass the last match's id for "find next")."""
    if not query:
        return []
    return _query(
        engine, build_id,
        "AND id > :after AND (output LIKE :q ESCAPE '\\' OR stage LIKE :q ESCAPE '\\')",
        "ASC", _check(limit), q=_like(query), after=-1 if after_id is None else after_id,
    )


def position_of(engine: Engine, build_id: str, log_id: int) -> int:
    """The 0-based position of line ``log_id`` in its log (to scroll a window to a match)."""
    with engine.connect() as conn:
        n = conn.execute(
            text("SELECT count(*) FROM build_logs WHERE build_id = :b AND id < :i"),
            {"b": build_id, "i": log_id},
        ).scalar_one()
    return int(n)


def iter_all(engine: Engine, build_id: str, page: int = 5000) -> Iterable[LogLine]:
    """Every line, in pages of ``page`` (for exports; never held in memory at once)."""
    after: int | None = None
    while True:
        lines = read_after(engine, build_id, after, page)
        yield from lines
        if len(lines) < page:
            return
        after = lines[-1].id


def save_to_file(engine: Engine, build_id: str, path: Path | str) -> int:
    """Write the scrubbed log to ``path`` (a private file: ``ism_tui.private_files``); returns
    the number of lines written. Raises ``OSError`` with the path when it cannot be written."""
    lines = (scrub(line.render(), 10_000) for line in iter_all(engine, build_id))
    return write_private(Path(path).expanduser(), lines)


_MATCH = "AND (output LIKE :q ESCAPE '\\' OR stage LIKE :q ESCAPE '\\')"


def count_matches(engine: Engine, build_id: str, query: str) -> int:
    """How many lines match ``query`` (all lines when it is empty)."""
    if not query:
        return count_lines(engine, build_id)
    with engine.connect() as conn:
        n = conn.execute(
            text(f"SELECT count(*) FROM build_logs WHERE build_id = :b {_MATCH}"),
            {"b": build_id, "q": _like(query)},
        ).scalar_one()
    return int(n)


def match_window(
    engine: Engine, build_id: str, query: str, offset: int, limit: int
) -> list[LogLine]:
    """Window ``offset``..``offset+limit-1`` of the lines matching ``query`` (all if empty)."""
    if not query:
        return read_window(engine, build_id, offset, limit)
    sql = f"{_SELECT} WHERE build_id = :b {_MATCH} ORDER BY id LIMIT :limit OFFSET :offset"
    with engine.connect() as conn:
        stage = _failing_stage(conn, build_id)
        rows = conn.execute(text(sql), {"b": build_id, "q": _like(query),
                                        "limit": _check(limit), "offset": _check(offset)}).all()
    return _lines(rows, stage)

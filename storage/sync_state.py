"""Per-resource sync bookkeeping: freshness, cursor, resume point, last error, row count."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.db import Cache, reading

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

# The mirrored resources in display order (the API's ``LIST_RESOURCES``; a test keeps them
# equal): readers of freshness need not import the pydantic wire models.
RESOURCES = ("customers", "users", "invites", "targets", "templates", "workspaces", "usage",
             "usage_periods", "audit")
_COLUMNS = ("resource", "last_success_at", "last_attempt_at", "cursor", "resume_after_id",
            "full_sync_id", "last_error", "row_count")


@dataclass
class SyncStateRow:
    resource: str
    last_success_at: str | None = None
    last_attempt_at: str | None = None
    cursor: str | None = None
    resume_after_id: str | None = None
    full_sync_id: str | None = None
    last_error: str | None = None
    row_count: int = 0


def read_state(engine: Engine | Cache, resource: str) -> SyncStateRow:
    with reading(engine) as db:
        row = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sync_state WHERE resource=:r",
                         {"r": resource}).fetchone()
    return SyncStateRow(*row) if row else SyncStateRow(resource)


def all_states(engine: Engine | Cache) -> dict[str, SyncStateRow]:
    with reading(engine) as db:
        rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM sync_state").fetchall()
    return {r[0]: SyncStateRow(*r) for r in rows}


def write_state(conn: Connection, resource: str, **changes: Any) -> None:
    """Upsert some columns of the resource's row, inside the caller's transaction."""
    unknown = set(changes) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown sync_state columns: {sorted(unknown)}")
    from sqlalchemy import text

    if changes.get("last_error"):
        from ism_tui.redact import scrub

        changes["last_error"] = scrub(changes["last_error"], 1000)
    values = {"resource": resource, "row_count": 0, **changes}
    updates = ", ".join(f"{c}=excluded.{c}" for c in changes) or "resource=resource"
    conn.execute(
        text(f"INSERT INTO sync_state ({', '.join(values)}) VALUES "
             f"({', '.join(':' + c for c in values)}) ON CONFLICT(resource) DO UPDATE SET "
             f"{updates}"),
        values,
    )


def table_name(resource: str) -> str:
    from storage.schema import RESOURCE_TABLES

    return str(RESOURCE_TABLES[resource].__tablename__)  # type: ignore[attr-defined]


def count_rows(conn: Connection, resource: str) -> int:
    from storage.schema import RESOURCE_TABLES  # lazy: readers of sync state need no ORM

    table = RESOURCE_TABLES[resource].__tablename__  # type: ignore[attr-defined]
    return int(conn.exec_driver_sql(f'SELECT count(*) FROM "{table}"').scalar_one())

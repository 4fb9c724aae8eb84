"""The local audit trail (table ``local_audit``): every action attempt made through ism-tui.

One row per outcome of an attempt: ``refused`` (by policy, before any call), ``cancelled`` (at
the confirmation), ``confirmed`` (just before the call), then ``succeeded`` or ``failed``. Rows
of one attempt share its idempotency key. Free text is scrubbed on the way in
(``ism_tui.redact.scrub``), so no token or invite link can be written here; the
trail survives cache rebuilds (``storage.db.ensure_schema`` keeps the table).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import Engine, text

from ism_tui.redact import scrub
from storage.rows import iso

AuditOutcome = Literal["refused", "cancelled", "confirmed", "succeeded", "failed"]
OUTCOMES: tuple[AuditOutcome, ...] = ("refused", "cancelled", "confirmed", "succeeded", "failed")

_COLUMNS = (
    "seq", "time", "profile", "actor", "actor_role", "action", "target_type", "target_id",
    "target_name", "customer_id", "result", "reason", "request_id", "idempotency_key",
)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the local audit trail (``seq`` and ``time`` are set when it is written)."""

    action: str
    result: AuditOutcome
    actor: str = ""
    actor_role: str = ""
    target_type: str = ""
    target_id: str = ""
    target_name: str = ""
    customer_id: str | None = None
    reason: str = ""
    request_id: str | None = None
    idempotency_key: str | None = None
    profile: str = ""
    time: str = ""
    seq: int | None = field(default=None)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def record(engine: Engine, entry: AuditEntry, now: datetime | None = None) -> AuditEntry:
    """Append ``entry`` (scrubbed) and return it as written, with its ``seq`` and ``time``."""
    if entry.result not in OUTCOMES:
        raise ValueError(f"unknown audit result {entry.result!r}: one of {', '.join(OUTCOMES)}")
    values: dict[str, Any] = {
        "time": entry.time or iso(now or datetime.now(UTC)),
        "profile": scrub(entry.profile, 200),
        "actor": scrub(entry.actor, 320),
        "actor_role": scrub(entry.actor_role, 40),
        "action": scrub(entry.action, 40),
        "target_type": scrub(entry.target_type, 40),
        "target_id": scrub(entry.target_id, 200),
        "target_name": scrub(entry.target_name, 300),
        "customer_id": scrub(entry.customer_id, 200) if entry.customer_id else None,
        "result": entry.result,
        "reason": scrub(entry.reason, 1000),
        "request_id": scrub(entry.request_id, 200) if entry.request_id else None,
        "idempotency_key": scrub(entry.idempotency_key, 200) if entry.idempotency_key else None,
    }
    names = ", ".join(values)
    params = ", ".join(f":{k}" for k in values)
    with engine.begin() as conn:
        seq = conn.execute(
            text(f"INSERT INTO local_audit ({names}) VALUES ({params}) RETURNING seq"), values
        ).scalar_one()
    return AuditEntry(seq=int(seq), **values)


def list_audit(
    engine: Engine, limit: int = 100, offset: int = 0, action: str | None = None
) -> list[AuditEntry]:
    """Newest first; ``action`` filters to one action name. ``limit`` is capped at 10,000."""
    if limit < 0 or offset < 0:
        raise ValueError("limit and offset must not be negative")
    where = "WHERE action = :action" if action else ""
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM local_audit {where} "
        "ORDER BY seq DESC LIMIT :limit OFFSET :offset"
    )
    params: dict[str, Any] = {"limit": min(limit, 10_000), "offset": offset, "action": action}
    with engine.connect() as conn:
        rows = conn.execute(text(sql), params).mappings().all()
    return [AuditEntry(**dict(r)) for r in rows]


def count_audit(engine: Engine, action: str | None = None) -> int:
    where = "WHERE action = :action" if action else ""
    with engine.connect() as conn:
        n = conn.execute(
            text(f"SELECT count(*) FROM local_audit {where}"), {"action": action}
        ).scalar_one()
    return int(n)


def attempt_entries(engine: Engine, idempotency_key: str) -> list[AuditEntry]:
    """Every row of one attempt, oldest first (confirmed, then succeeded or failed)."""
    sql = (
        f"SELECT {', '.join(_COLUMNS)} FROM local_audit "
        "WHERE idempotency_key = :key ORDER BY seq"
    )
    with engine.connect() as conn:
        rows = conn.execute(text(sql), {"key": idempotency_key}).mappings().all()
    return [AuditEntry(**dict(r)) for r in rows]

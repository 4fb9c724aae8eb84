"""What the triage rules read from the cache, and where their blockers are stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import Engine, text

Row = dict[str, Any]
TAIL_LINES = 8


@dataclass
class Snapshot:
    """The cached state the rules need (only the rows that can hold a blocker)."""

    customers: dict[str, Row] = field(default_factory=dict)
    users: list[Row] = field(default_factory=list)
    invites: list[Row] = field(default_factory=list)
    workspaces: list[Row] = field(default_factory=list)
    build_log_tails: dict[str, list[Row]] = field(default_factory=dict)
    analytics_views: list[Row] = field(default_factory=list)
    analytics_denied: list[Row] = field(default_factory=list)


def _rows(conn: Any, sql: str, json_cols: Iterable[str] = ()) -> list[Row]:
    result = conn.exec_driver_sql(sql)
    keys = list(result.keys())
    out = []
    for values in result:
        row = dict(zip(keys, values, strict=True))
        for col in json_cols:
            row[col] = orjson.loads(row[col] or "[]")
        out.append(row)
    return out


def read_snapshot(engine: Engine) -> Snapshot:
    snap = Snapshot()
    with engine.connect() as conn:
        snap.customers = {r["id"]: r for r in _rows(
            conn, "SELECT * FROM customers", ("sso_missing_steps", "allowed_target_ids",
                                               "admin_emails"))}
        snap.users = _rows(
            conn, "SELECT * FROM users WHERE (idp_role IS NOT NULL AND idp_role != role) "
                  "OR provisioning_state = 'failed' OR role = 'customer_member'",
            ("visible_navigation",))
        snap.invites = _rows(conn, "SELECT * FROM invites WHERE state IN ('consumed', 'expired')")
        snap.workspaces = _rows(
            conn, "SELECT id, name, customer_id, owner_email, status, template_alias, "
                  "target_id, updated_at, created_at, build_id, build_number, build_transition, "
                  "build_job_status, build_error, build_failing_stage, build_started_at, "
                  "build_completed_at, apps, create_blockers FROM workspaces "
                  "WHERE create_blockers != '[]' OR build_job_status = 'failed' OR apps != '[]'",
            ("apps", "create_blockers"))
        failed = [w["build_id"] for w in snap.workspaces
                  if w["build_job_status"] == "failed" and w["build_id"]]
        for build_id in failed:
            lines = conn.execute(text(
                "SELECT id, stage, level, output FROM build_logs WHERE build_id=:b "
                "ORDER BY id DESC LIMIT :n"), {"b": build_id, "n": TAIL_LINES}).mappings().all()
            snap.build_log_tails[build_id] = [dict(x) for x in reversed(lines)]
        snap.analytics_views = _rows(
            conn, "SELECT * FROM audit_events WHERE action = 'analytics.view' AND result = 'empty' "
                  "ORDER BY time")
        snap.analytics_denied = _rows(
            conn, "SELECT * FROM audit_events "
                  "WHERE action = 'analytics.view' AND result = 'denied' "
                  "ORDER BY time")
    return snap


def replace_blockers(engine: Engine, rows: list[Row]) -> None:
    """Swap the blockers table's content in one transaction (readers see old or new)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM blockers")
        if rows:
            conn.execute(text(
                "INSERT OR REPLACE INTO blockers (id, \"case\", severity, customer_id, "
                "subject_type, subject_id, summary, since, payload) VALUES (:id, :case, "
                ":severity, :customer_id, :subject_type, :subject_id, :summary, :since, "
                ":payload)"), rows)


def select_blockers(engine: Engine, where: str = "", params: dict[str, Any] | None = None,
                    ) -> list[str]:
    """Payload JSON of the matching blockers, most severe and oldest first."""
    sql = ("SELECT payload FROM blockers" + (f" WHERE {where}" if where else "")
           + " ORDER BY severity DESC, coalesce(since, '9999') ASC, id")
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(text(sql), params or {})]


def blocked_ids(engine: Engine, subject_type: str) -> dict[str, list[str]]:
    """Subject id -> the cases blocking it."""
    out: dict[str, list[str]] = {}
    with engine.connect() as conn:
        for sid, case in conn.execute(text(
                'SELECT subject_id, "case" FROM blockers WHERE subject_type=:t '
                "ORDER BY severity DESC"), {"t": subject_type}):
            out.setdefault(sid, []).append(case)
    return out

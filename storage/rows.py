"""Wire model -> cache row dicts (flat, JSON lists, ISO UTC text timestamps).

One function per resource, kept trivially fast: it runs once per synced object.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import orjson

from ism_tui.api import models as m
from ism_tui.text import clean

Row = dict[str, Any]


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 text that sorts correctly: UTC with microseconds and a ``Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # isoformat is faster than strftime; same text: 2026-11-24T09:14:00.000000Z
        text = value.isoformat(timespec="microseconds")
        if text.endswith("+00:00"):
            return text[:-6] + "Z"
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return value.isoformat()


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def customer_row(c: m.Customer) -> Row:
    b, s = c.billing, c.sso
    return {
        "id": c.id,
        "name": clean(c.name),
        "domain": clean(c.domain),
        "created_at": iso(c.created_at),
        "updated_at": iso(c.updated_at),
        "billing_approval": b.approval if b else None,
        "billing_approval_updated_at": iso(b.approval_updated_at) if b else None,
        "prepaid_seconds_left": b.prepaid_seconds_left if b else None,
        "prepaid_updated_at": iso(b.prepaid_updated_at) if b else None,
        "ai_credit_left": b.ai_credit_left if b else None,
        "ai_credit_updated_at": iso(b.ai_credit_updated_at) if b else None,
        "sso_state": s.state if s else None,
        "sso_missing_steps": _json([clean(x) for x in s.missing_steps] if s else []),
        "sso_updated_at": iso(s.updated_at) if s else None,
        "allowed_target_ids": _json(c.allowed_target_ids),
        "admin_emails": _json([clean(x) for x in c.admin_emails]),
    }


def user_row(u: m.User) -> Row:
    p = u.provisioning
    return {
        "id": u.id,
        "email": clean(u.email),
        "name": clean(u.name),
        "customer_id": u.customer_id,
        "role": u.role,
        "idp_role": u.idp_role,
        "role_updated_at": iso(u.role_updated_at),
        "last_sign_in_at": iso(u.last_sign_in_at),
        "visible_navigation": _json([clean(x) for x in u.visible_navigation]),
        "provisioning_state": p.state if p else None,
        "provisioning_reason": clean(p.reason) if p and p.reason else None,
        "provisioning_updated_at": iso(p.updated_at) if p else None,
        "created_at": iso(u.created_at),
        "updated_at": iso(u.updated_at),
    }


def invite_row(i: m.Invite) -> Row:
    return {
        "id": i.id,
        "email": clean(i.email),
        "customer_id": i.customer_id,
        "role": i.role,
        "state": i.state,
        "created_at": iso(i.created_at),
        "expires_at": iso(i.expires_at),
        "issued_by": clean(i.issued_by),
        "accepted_at": iso(i.accepted_at),
        "consumed_at": iso(i.consumed_at),
        "replaced_by": i.replaced_by,
        "updated_at": iso(i.updated_at),
    }


def target_row(t: m.Target) -> Row:
    return {
        "id": t.id,
        "name": clean(t.name),
        "region": clean(t.region),
        "state": t.state,
        "state_reason": clean(t.state_reason) if t.state_reason else None,
        "state_since": iso(t.state_since),
        "updated_at": iso(t.updated_at),
    }


def template_row(t: m.TemplateAlias) -> Row:
    return {
        "id": t.id,
        "alias": clean(t.alias),
        "template_name": clean(t.template_name),
        "template_version": clean(t.template_version),
        "state": t.state,
        "state_reason": clean(t.state_reason) if t.state_reason else None,
        "state_since": iso(t.state_since),
        "updated_at": iso(t.updated_at),
    }


def workspace_row(w: m.Workspace) -> Row:
    b = w.latest_build
    return {
        "id": w.id,
        "name": clean(w.name),
        "owner_user_id": w.owner_user_id,
        "owner_email": clean(w.owner_email),
        "customer_id": w.customer_id,
        "template_alias": clean(w.template_alias),
        "target_id": w.target_id,
        "status": w.status,
        "created_at": iso(w.created_at),
        "last_used_at": iso(w.last_used_at),
        "updated_at": iso(w.updated_at),
        "build_id": b.id if b else None,
        "build_number": b.build_number if b else None,
        "build_transition": b.transition if b else None,
        "build_job_status": b.job_status if b else None,
        "build_error": clean(b.error) if b and b.error else None,
        "build_failing_stage": clean(b.failing_stage) if b and b.failing_stage else None,
        "build_created_at": iso(b.created_at) if b else None,
        "build_started_at": iso(b.started_at) if b else None,
        "build_completed_at": iso(b.completed_at) if b else None,
        "build_initiator_email": clean(b.initiator_email) if b and b.initiator_email else None,
        "apps": _json(
            [
                {
                    "slug": clean(a.slug),
                    "display_name": clean(a.display_name),
                    "launch_action": clean(a.launch_action),
                    "url": clean(a.url),
                }
                for a in w.apps
            ]
        ),
        "create_blockers": _json(
            [
                {"code": x.code, "message": clean(x.message), "since": iso(x.since)}
                for x in w.create_blockers
            ]
        ),
    }


def usage_row(u: m.UsageRow) -> Row:
    return {
        "id": u.id,
        "day": u.day.isoformat(),
        "customer_id": u.customer_id,
        "workspace_id": u.workspace_id,
        "user_id": u.user_id,
        "workspace_seconds": u.workspace_seconds,
        "ai_credits_used": u.ai_credits_used,
        "cost_usd": u.cost_usd,
        "updated_at": iso(u.updated_at),
    }


def usage_period_row(p: m.UsagePeriod) -> Row:
    return {
        "id": p.id,
        "day": p.day.isoformat(),
        "customer_id": p.customer_id,
        "reconciliation": p.reconciliation,
        "provider_data_through": iso(p.provider_data_through),
        "updated_at": iso(p.updated_at),
    }


def audit_row(a: m.AuditEvent) -> Row:
    return {
        "id": a.id,
        "time": iso(a.time),
        "actor_user_id": a.actor_user_id,
        "actor_email": clean(a.actor_email),
        "customer_id": a.customer_id,
        "action": clean(a.action),
        "target_type": clean(a.target_type),
        "target_id": a.target_id,
        "result": a.result,
        "detail": clean(a.detail),
        "request_id": a.request_id,
        "updated_at": iso(a.updated_at),
    }


def build_log_row(log: m.BuildLog) -> Row:
    return {
        "build_id": log.build_id,
        "id": log.id,
        "created_at": iso(log.created_at),
        "stage": clean(log.stage),
        "level": log.level,
        "output": clean(log.output),
    }


ROW_MAKERS: dict[str, Callable[[Any], Row]] = {
    "customers": customer_row,
    "users": user_row,
    "invites": invite_row,
    "targets": target_row,
    "templates": template_row,
    "workspaces": workspace_row,
    "usage": usage_row,
    "usage_periods": usage_period_row,
    "audit": audit_row,
}

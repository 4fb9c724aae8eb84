"""Validated wire objects -> cache rows (flat, JSON lists, ISO UTC text timestamps).

Row makers read attributes, so they take the fast decoder's structs (``api.bulk``, whose
timestamps are the server's RFC 3339 text, already checked) as well as pydantic models
(datetime objects). Working from text rather than ``datetime`` objects matters: formatting
them back to text was a large part of a full sync. One function per resource, kept trivially
fast: it runs once per synced object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from operator import itemgetter
from typing import Any

import orjson

from ism_tui.redact import bare_url, scrub
from ism_tui.text import clean
from storage.stamps import iso as iso
from storage.stamps import parse_iso as parse_iso
from storage.stamps import ts

# A row to write: its values in the order of its table's ``COLUMNS`` (rows read back are
# ``storage.dbapi.RowDict``).
Row = tuple[Any, ...]
# A validated wire object: an ``api.bulk`` struct or a pydantic model (attributes alike)
Wire = Any


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


# Each maker returns a tuple in its resource's ``COLUMNS`` order (the table's columns but
# ``sync_gen``): the upsert binds it as is. Tuples rather than dicts save building a dict per
# object and mapping it back to columns, GIL time the sync's other threads wait for.
CUSTOMER = ("id", "name", "domain", "created_at", "updated_at", "billing_approval",
            "billing_approval_updated_at", "prepaid_seconds_left", "prepaid_updated_at",
            "ai_credit_left", "ai_credit_updated_at", "sso_state", "sso_missing_steps",
            "sso_updated_at", "allowed_target_ids", "admin_emails")


def customer_row(c: Wire) -> Row:
    b, s = c.billing, c.sso
    return (
        c.id, clean(c.name), clean(c.domain), ts(c.created_at), ts(c.updated_at),
        b.approval if b else None,
        ts(b.approval_updated_at) if b else None,
        b.prepaid_seconds_left if b else None,
        ts(b.prepaid_updated_at) if b else None,
        b.ai_credit_left if b else None,
        ts(b.ai_credit_updated_at) if b else None,
        s.state if s else None,
        _json([clean(x) for x in s.missing_steps] if s else []),
        ts(s.updated_at) if s else None,
        _json(c.allowed_target_ids),
        _json([clean(x) for x in c.admin_emails]),
    )


USER = ("id", "email", "name", "customer_id", "role", "idp_role", "role_updated_at",
        "last_sign_in_at", "visible_navigation", "provisioning_state", "provisioning_reason",
        "provisioning_updated_at", "created_at", "updated_at")


def user_row(u: Wire) -> Row:
    p = u.provisioning
    return (
        u.id, clean(u.email), clean(u.name), u.customer_id, u.role,
        u.idp_role, ts(u.role_updated_at), ts(u.last_sign_in_at),
        _json([clean(x) for x in u.visible_navigation]),
        p.state if p else None,
        scrub(p.reason) if p and p.reason else None,
        ts(p.updated_at) if p else None,
        ts(u.created_at), ts(u.updated_at),
    )


INVITE = ("id", "email", "customer_id", "role", "state", "created_at", "expires_at",
          "issued_by", "accepted_at", "consumed_at", "replaced_by", "updated_at")


def invite_row(i: Wire) -> Row:
    return (
        i.id, clean(i.email), i.customer_id, i.role, i.state,
        ts(i.created_at), ts(i.expires_at), clean(i.issued_by), ts(i.accepted_at),
        ts(i.consumed_at), i.replaced_by, ts(i.updated_at),
    )


TARGET = ("id", "name", "region", "state", "state_reason", "state_since", "updated_at")


def target_row(t: Wire) -> Row:
    return (
        t.id, clean(t.name), clean(t.region), t.state,
        scrub(t.state_reason) if t.state_reason else None,
        ts(t.state_since), ts(t.updated_at),
    )


TEMPLATE = ("id", "alias", "template_name", "template_version", "state", "state_reason",
            "state_since", "updated_at")


def template_row(t: Wire) -> Row:
    return (
        t.id, clean(t.alias), clean(t.template_name), clean(t.template_version),
        t.state, scrub(t.state_reason) if t.state_reason else None,
        ts(t.state_since), ts(t.updated_at),
    )


WORKSPACE = ("id", "name", "owner_user_id", "owner_email", "customer_id", "template_alias",
             "target_id", "status", "created_at", "last_used_at", "updated_at",
             "build_id", "build_number", "build_transition", "build_job_status", "build_error",
             "build_failing_stage", "build_created_at", "build_started_at",
             "build_completed_at", "build_initiator_email", "apps", "create_blockers")
_NO_BUILD: Row = (None,) * 10


def workspace_row(w: Wire) -> Row:
    b, apps, blockers = w.latest_build, w.apps, w.create_blockers
    return (
        w.id, clean(w.name), w.owner_user_id, clean(w.owner_email),
        w.customer_id, clean(w.template_alias), w.target_id, w.status,
        ts(w.created_at), ts(w.last_used_at), ts(w.updated_at),
    ) + (_NO_BUILD if b is None else (
        b.id, b.build_number, b.transition, b.job_status,
        scrub(b.error) if b.error else None,
        scrub(b.failing_stage) if b.failing_stage else None,
        ts(b.created_at), ts(b.started_at), ts(b.completed_at),
        clean(b.initiator_email) if b.initiator_email else None,
    )) + (
        _json([
            {
                "slug": clean(a.slug),
                "display_name": clean(a.display_name),
                "launch_action": clean(a.launch_action),
                "url": clean(bare_url(a.url)),  # its query or user:pass@ may hold a session
            }
            for a in apps
        ]) if apps else "[]",
        _json([
            {"code": clean(x.code), "message": scrub(x.message), "since": ts(x.since)}
            for x in blockers
        ]) if blockers else "[]",
    )


USAGE = ("id", "day", "customer_id", "workspace_id", "user_id", "workspace_seconds",
         "ai_credits_used", "cost_usd", "updated_at")


def usage_row(u: Wire) -> Row:
    return (u.id, day(u.day), u.customer_id, u.workspace_id, u.user_id,
            u.workspace_seconds, u.ai_credits_used, u.cost_usd, ts(u.updated_at))


USAGE_PERIOD = ("id", "day", "customer_id", "reconciliation", "provider_data_through",
                "updated_at")


def usage_period_row(p: Wire) -> Row:
    return (p.id, day(p.day), p.customer_id, p.reconciliation,
            ts(p.provider_data_through), ts(p.updated_at))


AUDIT = ("id", "time", "actor_user_id", "actor_email", "customer_id", "action", "target_type",
         "target_id", "result", "detail", "request_id", "updated_at")


def audit_row(a: Wire) -> Row:
    return (
        a.id, ts(a.time), a.actor_user_id, clean(a.actor_email), a.customer_id,
        clean(a.action), clean(a.target_type), a.target_id, a.result,
        scrub(a.detail), a.request_id, ts(a.updated_at),
    )


def build_log_row(log: Wire) -> dict[str, Any]:
    return {
        "build_id": log["build_id"],
        "id": log["id"],
        "created_at": ts(log["created_at"]),
        "stage": clean(log["stage"]),
        "level": log["level"],
        "output": scrub(log["output"]),  # build output may echo a header or a token
    }


ROW_MAKERS: dict[str, Callable[[Wire], Row]] = {
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


COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": CUSTOMER,
    "users": USER,
    "invites": INVITE,
    "targets": TARGET,
    "templates": TEMPLATE,
    "workspaces": WORKSPACE,
    "usage": USAGE,
    "usage_periods": USAGE_PERIOD,
    "audit": AUDIT,
}


def as_dict(resource: str, row: Row) -> dict[str, Any]:
    """A made row as column -> value (for callers that want names, such as the ORM bench)."""
    return dict(zip(COLUMNS[resource], row, strict=True))


def make_rows(resource: str, items: Sequence[Wire]) -> list[Row]:
    """Cache rows of validated wire objects (see ``Wire``)."""
    return list(map(ROW_MAKERS[resource], items))


def newest_updated(resource: str, rows: Sequence[Row]) -> str | None:
    """The latest ``updated_at`` of made rows (cache text, so plain text order is time order)."""
    return max(map(itemgetter(_UPDATED_AT[resource]), rows), default=None)


_UPDATED_AT = {resource: columns.index("updated_at") for resource, columns in COLUMNS.items()}


def day(value: Any) -> str:
    """A date as cache text (``2026-11-24``): the decoder's text as sent, or a model's date."""
    return value if type(value) is str else value.isoformat()  # type: ignore[no-any-return]

"""The enumerated values this version of the contract knows, and how an unknown one shows.

A newer Console may add a value to an enumeration (a workspace status, an invite state): it is
kept as the text it came as (``api.models.Open``) and shown with a ``?`` (``hibernating?``) so
an operator sees that ism-tui does not know what it means. Kept here, without the pydantic wire
models, because screens paint before those are imported; a test keeps the two equal.
"""

from __future__ import annotations

KNOWN: frozenset[str] = frozenset({
    # roles
    "platform_operator", "customer_admin", "customer_member",
    # billing approval, SSO, provisioning
    "approved", "pending", "missing", "complete", "incomplete", "none", "ok", "failed",
    # invites
    "accepted", "consumed", "expired", "revoked",
    # targets and template aliases
    "available", "degraded", "unavailable", "deprecated",
    # build transitions and job statuses
    "start", "stop", "delete", "running", "succeeded", "canceling", "canceled",
    # workspace statuses
    "starting", "stopping", "stopped", "deleting", "deleted",
    # create blockers
    "billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
    "target_unavailable", "sso_incomplete", "template_alias_unavailable",
    "user_provisioning_failed",
    # reconciliation, log levels, audit results
    "reconciled", "delayed", "trace", "debug", "info", "warn", "error", "denied", "empty",
})


def marked(value: str | None) -> str:
    """An enumerated value as shown: as is when known (or empty), else with a ``?``."""
    if not value or value in KNOWN:
        return value or ""
    return f"{value}?"

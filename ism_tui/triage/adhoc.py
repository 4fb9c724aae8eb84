"""Ad-hoc escalations: a user, workspace or customer that phoned in without a blocker in the
cache gets the playbook case that matches it, filled with that case's fields from the cached
rows. Pure: rows in, one ``Blocker`` out (id ``adhoc:<case>:<subject id>``).
"""

from __future__ import annotations

from typing import Any

from ism_tui.redact import scrub
from ism_tui.text import one_line
from ism_tui.triage.model import Blocker, Evidence
from ism_tui.triage.playbook import CASES
from ism_tui.triage.readiness import customer_wide
from ism_tui.triage.urls import check_launch_url
from storage.dbapi import RowDict

KINDS = ("user", "workspace", "customer")
# the cases an ad-hoc escalation may be made for, per subject kind
CASES_FOR = {
    "user": ("role_not_mapped", "role_changed_after_sign_in", "navigation_stale",
             "member_analytics_expected", "user_provisioning_failed"),
    "workspace": ("provisioning_failed", "launch_url_internal", "billing_approval_missing",
                  "prepaid_balance_missing", "ai_credit_missing", "target_unavailable",
                  "sso_incomplete", "template_alias_unavailable", "user_provisioning_failed"),
    "customer": ("billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
                 "sso_incomplete", "analytics_empty"),
}


def matching_case(kind: str, row: RowDict, customer: RowDict | None) -> str:
    """The playbook case a report about this subject most likely is."""
    if kind == "user":
        if row.get("provisioning_state") == "failed":
            return "user_provisioning_failed"
        return "role_not_mapped"  # "Missing Account Setup or Analytics": the user-level case
    if kind == "workspace":
        reported = [b.get("code") for b in row.get("create_blockers") or []]
        if row.get("status") == "pending" and reported and reported[0] in CASES:
            return str(reported[0])
        return "launch_url_internal" if row.get("status") == "running" else \
            "provisioning_failed"
    wide = customer_wide(customer or row)
    return wide[0].code if wide else "analytics_empty"


def _cname(customer: RowDict | None, fallback: Any) -> str:
    if customer:
        return f"{one_line(customer.get('name') or '', 120)} ({customer['id']})"
    return str(fallback or "")


def _user_fields(row: RowDict, customer: RowDict | None) -> RowDict:
    nav = [one_line(n, 60) for n in row.get("visible_navigation") or []]
    return {"user_email": row.get("email"), "email": row.get("email"),
            "customer": _cname(customer, row.get("customer_id")),
            "expected_role": row.get("idp_role") or row.get("role"),
            "visible_navigation": nav, "approx_sign_in_time": row.get("last_sign_in_at"),
            "role_changed_at": row.get("role_updated_at"),
            "blocker_message": one_line(row.get("provisioning_reason") or "", 300),
            "since": row.get("provisioning_updated_at")}


def _workspace_fields(row: RowDict, customer: RowDict | None, case: str,
                      log_tail: list[str]) -> RowDict:
    apps = row.get("apps") or []
    verdict = check_launch_url(apps[0].get("url")) if apps else None
    reported = {b.get("code"): b for b in row.get("create_blockers") or []}
    blocker = reported.get(case) or {}
    return {"workspace": row.get("name"), "customer": _cname(customer, row.get("customer_id")),
            "build_id": row.get("build_id"),
            "failing_stage": one_line(row.get("build_failing_stage") or "", 80) or None,
            "error": scrub(row.get("build_error") or "", 400) or None,
            "last_log_lines": log_tail or ["(no build log lines cached)"],
            "launch_action": one_line(apps[0].get("launch_action") or "", 80) if apps else None,
            "url_host": verdict.host if verdict else None,
            "reason": (verdict.reason or "reported by the user") if verdict else None,
            "blocker": case, "blocker_message": one_line(blocker.get("message") or "", 300),
            "since": blocker.get("since")}


def adhoc_blocker(kind: str, row: RowDict, customer: RowDict | None, case: str | None = None, *,
                  log_tail: list[str] | None = None, readiness: list[Any] | None = None,
                  reported_by: str = "") -> Blocker:
    """An escalation of ``case`` (default: ``matching_case``) for a user, workspace or customer
    row. ``readiness``: the subject's ``NotReady`` items (a workspace's create readiness)."""
    case = case or matching_case(kind, row, customer)
    if case not in CASES:
        raise ValueError(f"unknown case {case!r}")
    info = CASES[case]
    if kind == "user":
        fields = _user_fields(row, customer)
        name = row.get("name") or row.get("email") or row["id"]
    elif kind == "workspace":
        fields = _workspace_fields(row, customer, case, log_tail or [])
        name = row.get("name") or row["id"]
    else:
        found = [n for n in customer_wide(row) if n.code == case]
        fields = {"customer": _cname(row, row["id"]), "blocker": case,
                  "blocker_message": found[0].message if found else "",
                  "since": found[0].since if found else None, "workspace": None,
                  "reason": "reported by the customer"}
        name = row.get("name") or row["id"]
    evidence = [Evidence(f"readiness.{n.code}", n.message, n.since) for n in readiness or []]
    if not evidence:
        evidence = [Evidence("cache", "no blocker found in the cache: reported directly", None)]
    who = f" by {one_line(reported_by, 120)}" if reported_by else ""
    return Blocker(
        id=f"adhoc:{case}:{row['id']}", case=case, severity=info.severity,
        subject_type=kind, subject_id=row["id"], subject_name=one_line(name, 200),
        customer_id=row.get("customer_id") if kind != "customer" else row["id"],
        customer_name=one_line((customer or row).get("name") or "", 120),
        summary=one_line(f"ad-hoc escalation{who}: {info.title} ({name})", 300),
        evidence=evidence, escalation={k: fields.get(k) for k in info.fields},
        explained_only=info.escalate_to is None)


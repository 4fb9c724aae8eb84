"""The playbook's rules: a cache snapshot in, blockers out. Pure: no I/O, no Textual, no HTTP.

``analytics_empty`` needs usage aggregates: its rule takes a ``diagnose`` callable (the store
passes ``ism_tui.analytics``'s diagnosis) so the five-reason logic lives in one place.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ism_tui.redact import scrub
from ism_tui.text import one_line
from ism_tui.triage.model import Blocker, Evidence
from ism_tui.triage.playbook import CASES, CREATE_BLOCKER_CASES, HIGH
from ism_tui.triage.readiness import NotReady, customer_readiness, user_problem
from ism_tui.triage.urls import check_launch_url
from storage.dbapi import RowDict
from storage.triage_io import Snapshot

# (customer_id, from, to) -> (reason, evidence lines, escalation fields) or None if not empty
Diagnose = Callable[[str, str, str], tuple[str, list[str], dict[str, Any]] | None]
ADMIN_ONLY_NAV = ("Account setup", "Analytics")
# A folded readiness blocker's message, in the evidence of the create blocker that folds it.
READINESS_EVIDENCE = "readiness (blocks future creates too)"

# Customer fields that explain each create blocker.
_CUSTOMER_EVIDENCE = {
    "billing_approval_missing": (("billing_approval", "billing_approval_updated_at"),),
    "prepaid_balance_missing": (("prepaid_seconds_left", "prepaid_updated_at"),),
    "ai_credit_missing": (("ai_credit_left", "ai_credit_updated_at"),),
    "sso_incomplete": (("sso_state", "sso_updated_at"), ("sso_missing_steps", "sso_updated_at")),
}


def lacking_admin_items(navigation: list[str]) -> list[str]:
    """The admin-only items missing from a navigation, compared case-insensitively (Console
    has shown "Account setup" and "Account Setup")."""
    shown = {n.casefold() for n in navigation}
    return [n for n in ADMIN_ONLY_NAV if n.casefold() not in shown]


def _blocker(case: str, subject_type: str, subject: RowDict, customer: RowDict | None, summary: str,
             *, name: str, since: str | None, evidence: list[Evidence],
             escalation: dict[str, Any], suffix: str = "", reason: str | None = None) -> Blocker:
    info = CASES[case]
    customer_name = one_line((customer or {}).get("name") or subject.get("customer_id") or "")
    fields = {k: escalation.get(k) for k in info.fields}
    return Blocker(
        id=f"{case}:{subject['id']}{suffix}", case=case, severity=info.severity,
        subject_type=subject_type, subject_id=subject["id"], subject_name=one_line(name, 200),
        customer_id=subject.get("customer_id"), customer_name=customer_name,
        summary=one_line(summary, 300), since=since, reason=reason, evidence=evidence,
        escalation=fields, explained_only=info.escalate_to is None,
    )


def user_rules(snap: Snapshot) -> list[Blocker]:
    out = []
    denied_by = {a["actor_user_id"]: a for a in snap.analytics_denied}
    for u in snap.users:
        customer = snap.customers.get(u["customer_id"] or "")
        nav = [one_line(n, 60) for n in u["visible_navigation"]]
        unmapped = u["idp_role"] == "customer_admin" and u["role"] != "customer_admin"
        if unmapped:
            missing = lacking_admin_items(nav)
            out.append(_blocker(
                "role_not_mapped", "user", u, customer,
                f"{u['email']} expects customer admin (identity provider) but is mapped as "
                f"{u['role']}; navigation lacks {', '.join(missing) or 'nothing'}",
                name=u["name"] or u["email"], since=u["role_updated_at"],
                evidence=[Evidence("user.idp_role", u["idp_role"], None),
                          Evidence("user.role", u["role"], u["role_updated_at"]),
                          Evidence("user.visible_navigation", ", ".join(nav) or "(none)",
                                   u["last_sign_in_at"])],
                escalation={"user_email": u["email"], "customer": _cname(customer, u),
                            "expected_role": "customer_admin",
                            "visible_navigation": nav,
                            "approx_sign_in_time": u["last_sign_in_at"]}))
        elif (stale := _sign_in_check(u, customer, nav)) is not None:
            out.append(stale)
        if not unmapped and u["role"] == "customer_member" and u["id"] in denied_by:
            event = denied_by[u["id"]]
            out.append(_blocker(
                "member_analytics_expected", "user", u, customer,
                f"{u['email']} is a customer member and was refused Analytics: expected, "
                "ask a customer admin for a usage review",
                name=u["name"] or u["email"], since=event["time"],
                evidence=[Evidence("user.role", u["role"], u["role_updated_at"]),
                          Evidence("audit.analytics.view", "denied", event["time"])],
                escalation={"user_email": u["email"], "customer": _cname(customer, u)}))
    return out


def _sign_in_check(u: RowDict, customer: RowDict | None, nav: list[str]) -> Blocker | None:
    """"Sign out and sign in again after role changes": a role that changed after the last
    sign-in, or a customer admin whose navigation lacks the admin items."""
    changed, signed_in = u["role_updated_at"], u["last_sign_in_at"]
    after = bool(changed and signed_in and changed > signed_in)
    missing = lacking_admin_items(nav) if u["role"] == "customer_admin" else []
    if not after and not missing:
        return None
    case = "role_changed_after_sign_in" if after else "navigation_stale"
    why = (f"role changed to {u['role']} at {changed[:16].replace('T', ' ')}Z, after the last "
           f"sign-in: sign out and back in" if after else
           f"customer admin whose navigation lacks {', '.join(missing)}: sign out and back in")
    return _blocker(
        case, "user", u, customer, f"{u['email']}: {why}", name=u["name"] or u["email"],
        since=changed if after else signed_in,
        evidence=[Evidence("user.role", u["role"], changed),
                  Evidence("user.last_sign_in_at", signed_in or "never", None),
                  Evidence("user.visible_navigation", ", ".join(nav) or "(none)", signed_in)],
        escalation={"user_email": u["email"], "customer": _cname(customer, u),
                    "expected_role": u["role"], "visible_navigation": nav,
                    "approx_sign_in_time": signed_in, "role_changed_at": changed})


def invite_rules(snap: Snapshot) -> list[Blocker]:
    out = []
    for inv in snap.invites:
        customer = snap.customers.get(inv["customer_id"])
        state = inv["state"]
        since = inv["consumed_at"] if state == "consumed" else inv["expires_at"]
        out.append(_blocker(
            f"invite_{state}", "invite", inv, customer,
            f"invite for {inv['email']} is {state}: a customer admin or operator reissues it",
            name=inv["email"], since=since,
            evidence=[Evidence("invite.state", state, since),
                      Evidence("invite.expires_at", inv["expires_at"] or "", None),
                      Evidence("invite.issued_by", inv["issued_by"], inv["created_at"])],
            escalation={"email": inv["email"], "customer": _cname(customer, inv),
                        "invite_state": state, "expires_at": inv["expires_at"]}))
    return out


def workspace_rules(snap: Snapshot, readiness: dict[str, Blocker] | None = None
                    ) -> list[Blocker]:
    """``readiness``: the readiness blockers by id, which a Console-reported create blocker
    of the same problem folds (``_fold``)."""
    out: list[Blocker] = []
    for ws in snap.workspaces:
        customer = snap.customers.get(ws["customer_id"])
        out.extend(_fold(b, ws, readiness or {}) for b in _create_blockers(ws, customer))
        out.extend(_launch_urls(ws, customer))
        failed = _provisioning_failed(ws, customer, snap.build_log_tails.get(ws["build_id"]))
        if failed:
            out.append(failed)
    return out


def _create_blockers(ws: RowDict, customer: RowDict | None) -> list[Blocker]:
    out = []
    for item in ws["create_blockers"]:
        code = item.get("code")
        if code not in CREATE_BLOCKER_CASES:
            continue
        message = one_line(item.get("message") or "", 300)
        evidence = [Evidence(f"workspace.create_blockers.{code}", message, item.get("since"))]
        for value_col, since_col in _CUSTOMER_EVIDENCE.get(code, ()):
            if customer is not None:
                evidence.append(Evidence(f"customer.{value_col}", _shown(customer.get(value_col)),
                                         customer.get(since_col)))
        if code == "target_unavailable":
            evidence.append(Evidence("workspace.target_id", ws["target_id"], None))
        if code == "template_alias_unavailable":
            evidence.append(Evidence("workspace.template_alias", ws["template_alias"], None))
        out.append(_blocker(
            code, "workspace", ws, customer,
            f"create of {ws['name']} is blocked: {message or CASES[code].title}",
            name=ws["name"], since=item.get("since"), evidence=evidence,
            escalation={"customer": _cname(customer, ws), "workspace": ws["name"],
                        "blocker": code, "blocker_message": message,
                        "since": item.get("since")}))
    return out


def readiness_rules(snap: Snapshot) -> list[Blocker]:
    """Create blockers read from cached state before any create: per customer, what would
    refuse a create, and its users whose provisioning failed."""
    failed: dict[str, list[RowDict]] = {}
    for u in snap.users:
        if u["provisioning_state"] == "failed":
            failed.setdefault(u["customer_id"] or "", []).append(u)
    out: list[Blocker] = []
    for cid in sorted(failed.keys() | snap.customers.keys()):
        if snap.readiness_customers is not None and cid and cid not in snap.readiness_customers:
            continue
        customer = snap.customers.get(cid)
        subject = {"id": cid, "customer_id": cid}
        found = customer_readiness(customer, snap.targets, snap.aliases,
                                   snap.aliases_in_use.get(cid, ())) if customer else []
        out.extend(_not_ready(item, "customer", subject, customer) for item in found)
        out.extend(_not_ready(item, "user", u, customer) for u in failed.get(cid, ())
                   if (item := user_problem(u)) is not None)
    return out


def _readiness_id(code: str, ws: RowDict) -> str:
    """The id of the readiness blocker that a create blocker ``code`` of ``ws`` reports again
    (``_not_ready``'s ids): its owner's, or its customer's (and target's or alias's)."""
    if code == "user_provisioning_failed":
        return f"{code}:{ws['owner_user_id']}"
    detail = {"target_unavailable": f":{ws['target_id']}",
              "template_alias_unavailable": f":{ws['template_alias']}"}.get(code, "")
    return f"{code}:{ws['customer_id']}{detail}"


def readiness_fact(b: Blocker) -> tuple[str, str | None]:
    """What create readiness says of a readiness blocker, or of the one a create blocker
    folds: its message, and since when."""
    if b.folds:
        found = next(e for e in b.evidence if e.field == READINESS_EVIDENCE)
        return found.value, found.since
    return str(b.escalation.get("blocker_message") or b.summary), b.since


def _fold(found: Blocker, ws: RowDict, readiness: dict[str, Blocker]) -> Blocker:
    """A Console-reported create blocker that the cache's readiness shows too: one line for
    the problem, this one, carrying the readiness facts (``folds``: the readiness blocker it
    stands for, left out of the queue)."""
    same = readiness.get(_readiness_id(found.case, ws))
    if same is not None and same.customer_id == found.customer_id:
        found.folds = same.id
        found.evidence.append(Evidence(READINESS_EVIDENCE, readiness_fact(same)[0], same.since))
    return found


def _not_ready(item: NotReady, subject_type: str, subject: RowDict,
               customer: RowDict | None) -> Blocker:
    name = _cname(customer, subject)
    wide = item.customer_wide
    label = one_line((customer or {}).get("name") or name, 120)
    phrase = {"target": "on it", "template": "from it", "user": "for this user"}
    summary = (f"{label} cannot create workspaces: {item.message}" if wide
               else f"{label}: {item.message}; creates {phrase.get(item.subject, '')} are "
                    "refused")
    evidence = [Evidence(f"customer.{col}", _shown(customer.get(col)), customer.get(since))
                for col, since in _CUSTOMER_EVIDENCE.get(item.code, ()) if customer]
    if not wide:
        column = "provisioning" if item.subject == "user" else "state"
        evidence.append(Evidence(f"{item.subject}.{column}", item.message, item.since))
    found = _blocker(
        item.code, subject_type, subject, customer, summary,
        name=label if subject_type == "customer" else item.subject_name,
        since=item.since, evidence=evidence,
        suffix="" if wide or subject_type == "user" else f":{item.subject_id}",
        escalation={"customer": name, "workspace": "none yet (readiness before any create)",
                    "blocker": item.code, "blocker_message": item.message,
                    "since": item.since})
    if not wide:
        found.severity = HIGH  # other creates can still succeed
    return found


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


def _launch_urls(ws: RowDict, customer: RowDict | None) -> list[Blocker]:
    out = []
    for app in ws["apps"]:
        verdict = check_launch_url(app.get("url"))
        if verdict.ok:
            continue
        action = one_line(app.get("launch_action") or app.get("slug") or "", 80)
        out.append(_blocker(
            "launch_url_internal", "workspace", ws, customer,
            f"{ws['name']}: \"{action}\" opens {verdict.host or 'no host'} ({verdict.reason})",
            name=ws["name"], since=ws["updated_at"], suffix=f":{one_line(app.get('slug'), 40)}",
            evidence=[Evidence(f"workspace.apps.{one_line(app.get('slug'), 40)}.url host",
                               verdict.host, None)],
            escalation={"workspace": ws["name"], "customer": _cname(customer, ws),
                        "launch_action": action, "url_host": verdict.host,
                        "reason": verdict.reason}))
    return out


def _provisioning_failed(ws: RowDict, customer: RowDict | None,
                         tail: list[RowDict] | None) -> Blocker | None:
    if ws["build_job_status"] != "failed" or ws["build_transition"] != "start":
        return None
    if not ws["build_started_at"]:  # failed before provisioning started: a create blocker
        return None
    lines = [scrub(f"[{x['stage']}] {x['level']}: {x['output']}", 400) for x in tail or []]
    stage = one_line(ws["build_failing_stage"] or "unknown", 80)
    error = scrub(ws["build_error"] or "", 400)
    return _blocker(
        "provisioning_failed", "workspace", ws, customer,
        f"{ws['name']}: build #{ws['build_number']} failed at {stage} after provisioning started",
        name=ws["name"], since=ws["build_completed_at"],
        evidence=[Evidence("workspace.latest_build.job_status", "failed",
                           ws["build_completed_at"]),
                  Evidence("workspace.latest_build.started_at", ws["build_started_at"], None),
                  Evidence("workspace.latest_build.failing_stage", stage, None),
                  Evidence("workspace.latest_build.error", error, None)],
        escalation={"workspace": ws["name"], "customer": _cname(customer, ws),
                    "build_id": ws["build_id"], "failing_stage": stage, "error": error,
                    "last_log_lines": lines or ["(logs not fetched yet: open the build log "
                                                "viewer to fetch them)"]})


def analytics_rules(snap: Snapshot, diagnose: Diagnose | None) -> list[Blocker]:
    """Latest "analytics looked empty" view per customer, diagnosed against the cache."""
    if diagnose is None:
        return []
    latest: dict[str, RowDict] = {}
    for event in snap.analytics_views:
        try:
            detail = json.loads(event["detail"] or "{}")
        except ValueError:
            continue
        cid = detail.get("customer_id") or event["customer_id"]
        if snap.analytics_customers is not None and cid not in snap.analytics_customers:
            continue
        if cid and detail.get("from") and detail.get("to"):
            latest[cid] = {**event, "detail": detail}
    out = []
    for cid, event in latest.items():
        detail = event["detail"]
        found = diagnose(cid, detail["from"], detail["to"])
        if found is None:
            continue
        reason, evidence, fields = found
        customer = snap.customers.get(cid)
        subject = {"id": cid, "customer_id": cid}
        name = _cname(customer, subject)
        out.append(_blocker(
            "analytics_empty", "customer", subject, customer,
            f"{name}: analytics for {detail['from']}..{detail['to']} looked empty "
            f"({reason.replace('_', ' ')})",
            name=name, since=event["time"], reason=reason,
            evidence=[Evidence("audit.analytics.view", f"0 rows shown to {event['actor_email']}",
                               event["time"])] + [Evidence(f"analytics.{reason}", e, None)
                                                  for e in evidence],
            escalation={"customer": name, "reason": reason, **fields}))
    return out


def _cname(customer: RowDict | None, subject: RowDict) -> str:
    if customer:
        return f"{one_line(customer['name'], 120)} ({customer['id']})"
    return str(subject.get("customer_id") or "")


def subject_rules(snap: Snapshot) -> list[Blocker]:
    """The blockers of customers' readiness, users, invites and workspaces (all but the
    analytics ones). A readiness blocker that a Console-reported create blocker reports again
    is folded into it (one line per problem)."""
    readiness = {b.id: b for b in readiness_rules(snap)}
    workspaces = workspace_rules(snap, readiness)
    folded = {b.folds for b in workspaces}
    return ([b for b in readiness.values() if b.id not in folded] + user_rules(snap)
            + invite_rules(snap) + workspaces)


def evaluate(snap: Snapshot, diagnose: Diagnose | None = None,
             subjects: list[Blocker] | None = None) -> list[Blocker]:
    """Every blocker in the snapshot, most severe first, then oldest. ``subjects``: what
    ``subject_rules`` found in this snapshot already."""
    found = (subject_rules(snap) if subjects is None else list(subjects)) + \
        analytics_rules(snap, diagnose)
    found.sort(key=lambda b: (-b.severity, b.since or "9999", b.id))
    return found

"""Detail panes: customer, user, invite, workspace and blocker, as Rich ``Text``.

Every value from the API is appended as ``screens.literal.plain`` text (``Text.append``): no
secret, no escape, never parsed as markup.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.text import Text

from ism_tui.known_values import marked
from ism_tui.triage.model import Blocker
from ism_tui.triage.playbook import CREATE_BLOCKER_CASES
from ism_tui.triage.readiness import CUSTOMER_WIDE
from ism_tui.triage.rules import readiness_fact
from ism_tui.triage.store import blockers_for, list_blockers, routed
from ism_tui.triage.urls import check_launch_url
from screens.flags import SEVERITY_STYLE, STATUS_STYLE
from screens.literal import plain
from storage import queries

if TYPE_CHECKING:
    from sqlalchemy import Engine


def _title(out: Text, value: str) -> None:
    out.append(plain(value, 200) + "\n", "bold")


def _field(out: Text, label: str, value: Any, style: str = "") -> None:
    shown = "—" if value in (None, "", []) else (
        ", ".join(plain(str(v), 80) for v in value) if isinstance(value, list)
        else plain(str(value), 400))
    out.append(f"{label:<16}", "dim")
    out.append(shown + "\n", style or STATUS_STYLE.get(str(value), ""))


def when(value: Any) -> str | None:
    """``2026-11-22T13:22:44.000000Z`` -> ``2026-11-22 13:22Z``; other values unchanged."""
    if not value:
        return None
    text = str(value)
    if len(text) >= 16 and text[10] == "T":
        return f"{text[:10]} {text[11:16]}Z"
    return plain(text, 40)


def _blockers(out: Text, engine: Engine, blockers: list[Blocker]) -> None:
    if not blockers:
        out.append("\n✔ no blockers\n", "green")
        return
    out.append(f"\n{len(blockers)} blocker(s):\n", "bold")
    for b in routed(engine, blockers):
        word, style = SEVERITY_STYLE.get(b.severity, ("?", ""))
        out.append(f" {word} ", style)
        out.append(b.playbook.title + "\n", "bold")
        out.append("   " + plain(b.summary) + "\n")
        out.append(f"   who acts next: {plain(b.owner)}", "dim")
        if b.escalate_to:
            out.append(f" · escalate to: {plain(b.escalate_to)}", "dim")
        out.append("\n")
        if b.route and b.route.you_can:
            out.append(f"   you can do this now: {b.route.you_can}\n", "bold green")


def _route(out: Text, b: Blocker) -> None:
    """Who acts next and where it escalates, as the viewer sees it."""
    _field(out, "Who acts next", b.owner, "bold")
    if b.escalate_to:
        _field(out, "Escalate to", b.escalate_to, "bold")
    elif b.explained_only:
        _field(out, "Escalation", "none: expected behaviour, explain it", "cyan")
    else:
        _field(out, "Escalation", "none needed", "cyan")
    if b.route is not None:
        _field(out, "Your next step", b.route.next_step)
        if b.route.you_can:
            _field(out, "You can now", b.route.you_can, "bold green")


def customer_text(engine: Engine, customer_id: str) -> Text:
    row = queries.customer_detail(engine, customer_id)
    out = Text()
    if row is None:
        return Text("This customer is no longer in the cache.")
    _title(out, f"{row['name']}  ({row['id']})")
    _field(out, "Billing", marked(row["billing_approval"]))
    prepaid = row["prepaid_seconds_left"]
    _field(out, "Prepaid time", None if prepaid is None else f"{prepaid / 3600:,.1f} h",
           "bold red" if prepaid is not None and prepaid <= 0 else "")
    credit = row["ai_credit_left"]
    _field(out, "AI credit", None if credit is None else f"{credit:,.1f}",
           "bold red" if credit is not None and credit <= 0 else "")
    _field(out, "SSO", marked(row["sso_state"]))
    if row["sso_missing_steps"]:
        _field(out, "SSO missing", row["sso_missing_steps"], "bold red")
    _field(out, "Targets", [f"{t['name']} ({t['state']})" for t in row["targets"]])
    _field(out, "Admins", row["admin_emails"])
    _field(out, "Members", row["members"])
    _field(out, "Workspaces", row["workspaces"])
    blockers = _by_customer(engine, customer_id)
    _readiness(out, blockers)
    _blockers(out, engine, blockers)
    return out


def _readiness(out: Text, blockers: list[Blocker]) -> None:
    """Whether the customer can create workspaces now (what would refuse a create): its
    readiness blockers, also those folded into a create blocker the Console reported."""
    found: dict[str, Blocker] = {}
    for b in blockers:
        if b.case in CREATE_BLOCKER_CASES and (b.folds or b.subject_type != "workspace"):
            found.setdefault(b.folds or b.id, b)
    out.append("\nCreate readiness\n", "bold underline")
    if not found:
        out.append("  ✔ ready to create\n", "green")
        return
    facts = []
    for key, b in found.items():
        message, since = readiness_fact(b)
        facts.append((b.case not in CUSTOMER_WIDE, since or "9999", key, message))
    for limited, _, _, message in sorted(facts):  # what blocks every create first, oldest first
        out.append("  ⚠ limited: " if limited else "  ✖ blocked: ",
                   "bold yellow" if limited else "bold red")
        out.append(plain(message) + "\n")


def _by_customer(engine: Engine, customer_id: str) -> list[Blocker]:
    return list_blockers(engine, customer_id=customer_id)


def user_text(engine: Engine, user_id: str) -> Text:
    row = queries.user_detail(engine, user_id)
    if row is None:
        return Text("This user is no longer in the cache.")
    out = Text()
    _title(out, f"{row['name']} <{row['email']}>")
    _field(out, "Customer", row["customer"])
    _field(out, "Role", marked(row["role"]))
    mismatch = row["idp_role"] and row["idp_role"] != row["role"]
    _field(out, "Expected (IdP)", row["idp_role"], "bold yellow" if mismatch else "")
    _field(out, "Navigation", row["visible_navigation"])
    _field(out, "Last sign-in", when(row["last_sign_in_at"]))
    _field(out, "Provisioning", marked(row["provisioning_state"]))
    if row["provisioning_reason"]:
        _field(out, "  reason", row["provisioning_reason"], "bold red")
    _blockers(out, engine, blockers_for(engine, "user", user_id))
    return out


def invite_text(engine: Engine, invite_id: str) -> Text:
    row = queries.invite_detail(engine, invite_id)
    if row is None:
        return Text("This invite is no longer in the cache.")
    out = Text()
    _title(out, f"Invite for {row['email']}")
    _field(out, "Customer", row["customer"])
    _field(out, "Role", marked(row["role"]))
    _field(out, "State", marked(row["state"]))
    _field(out, "Created", when(row["created_at"]))
    _field(out, "Expires", when(row["expires_at"]))
    _field(out, "Issued by", row["issued_by"])
    if row["consumed_at"]:
        _field(out, "Consumed", when(row["consumed_at"]))
    if row["replaced_by"]:
        _field(out, "Replaced by", row["replaced_by"])
    out.append("The invite link is never shown here: the Console mails it.\n", "dim")
    _blockers(out, engine, blockers_for(engine, "invite", invite_id))
    return out


def workspace_text(engine: Engine, workspace_id: str) -> Text:
    row = queries.workspace_detail(engine, workspace_id)
    if row is None:
        return Text("This workspace is no longer in the cache.")
    out = Text()
    _title(out, f"{row['name']}  ({row['id']})")
    _field(out, "Status", marked(row["status"]))
    _field(out, "Customer", row["customer"])
    _field(out, "Owner", row["owner_email"])
    _field(out, "Template", row["template_alias"])
    _field(out, "Target", f"{row['target_name'] or row['target_id']} "
                          f"({row['target_state'] or '?'})")
    if row["build_id"]:
        _field(out, "Latest build", f"#{row['build_number']} {marked(row['build_transition'])} "
                                    f"{marked(row['build_job_status'])} ({row['build_id']})",
               STATUS_STYLE.get(row["build_job_status"] or "", ""))
        if row["build_failing_stage"]:
            _field(out, "  failed at", row["build_failing_stage"], "bold red")
        if row["build_error"]:
            _field(out, "  error", row["build_error"], "red")
    if row["apps"]:
        out.append("Apps:\n", "bold")
        for app in row["apps"]:
            verdict = check_launch_url(app.get("url"))
            mark, style = ("✔ public", "green") if verdict.ok else ("⚠ URL " + verdict.reason,
                                                                    "bold yellow")
            out.append(f"  {plain(app.get('launch_action') or app.get('slug'), 30)}: ")
            out.append(plain(verdict.host or "no host"))
            out.append(f"  {mark}\n", style)
    _blockers(out, engine, blockers_for(engine, "workspace", workspace_id))
    return out


def blocker_text(b: Blocker) -> Text:
    out = Text()
    word, style = SEVERITY_STYLE.get(b.severity, ("?", ""))
    out.append(f"{word} ", style)
    out.append(b.playbook.title + "\n", "bold")
    out.append(plain(b.summary) + "\n\n")
    _field(out, "Customer", b.customer_name)
    _field(out, "Subject", f"{b.subject_type} {b.subject_name} ({b.subject_id})")
    _field(out, "Since", when(b.since))
    if b.reason:
        _field(out, "Reason", b.reason.replace("_", " "), "bold yellow")
    _route(out, b)
    out.append("\nEvidence\n", "bold underline")
    for e in b.evidence:
        out.append(f"  {e.field} = ", "dim")
        out.append(plain(e.value, 300))
        since = when(e.since)
        if since and since not in e.value:  # not a time the value says already
            out.append(f"  (since {since})", "dim")
        out.append("\n")
    out.append("\nPlaybook steps\n", "bold underline")
    for n, step in enumerate(b.steps, 1):
        out.append(f"  {n}. {step}\n")
    logs = b.escalation.get("last_log_lines")
    if logs:
        out.append("\nLast build log lines\n", "bold underline")
        for line in logs:
            out.append("  " + plain(line, 300) + "\n",
                       "red" if " error:" in str(line) else "")
    out.append("\nDone when\n", "bold underline")
    for item in b.done_when:
        out.append(f"  ☐ {item}\n")
    return out


def template_text(engine: Engine, template_id: str) -> Text:
    row = queries.template_detail(engine, template_id)
    if row is None:
        return Text("This template alias is no longer in the cache.")
    out = Text()
    _title(out, f"Template alias {row['alias']}")
    _field(out, "Template", row["template_name"])
    _field(out, "Version", row["template_version"])
    _field(out, "State", marked(row["state"]))
    _field(out, "Since", when(row["state_since"]))
    if row["state_reason"]:
        _field(out, "  reason", row["state_reason"],
               "bold red" if row["state"] != "available" else "")
    _field(out, "In use", f"{row['workspaces']} workspace(s) of {row['customers']} customer(s)")
    if row["state"] != "available":
        out.append("\nNew workspaces cannot be created from this alias: their creates are "
                   "refused (template_alias_unavailable).\n", "bold red")
    return out

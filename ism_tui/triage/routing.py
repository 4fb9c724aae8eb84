"""Who acts next on a blocker and where it escalates, as the viewer sees it. Pure: no I/O.

The playbook's Done-When routes by who is looking: customer members escalate setup and billing
blockers to a customer admin (named when the cache knows them); customer admins escalate target,
runtime, SSO and billing review blockers to ISM support. A viewer whose role may act now (the
actions policy says so) is told which key does it instead of being sent to someone else.
"""

from __future__ import annotations

from collections.abc import Sequence

from ism_tui.triage.model import Blocker, Route
from ism_tui.triage.playbook import (
    ANALYTICS_FIX_REASONS,
    ANALYTICS_FIXES,
    CUSTOMER_ADMIN,
    ISM_SUPPORT,
)

MEMBER, ADMIN, OPERATOR = "customer_member", "customer_admin", "platform_operator"
BILLING_REVIEW = f"{ISM_SUPPORT} (billing review)"
RUNTIME = f"{ISM_SUPPORT} (runtime)"

# What kind of blocker each case is, in the Done-When's words.
KIND: dict[str, str] = {
    "role_not_mapped": "setup",
    "role_changed_after_sign_in": "setup",
    "navigation_stale": "setup",
    "member_analytics_expected": "explained",
    "invite_consumed": "invite",
    "invite_expired": "invite",
    "billing_approval_missing": "billing review",
    "prepaid_balance_missing": "billing",
    "ai_credit_missing": "billing",
    "sso_incomplete": "sso",
    "target_unavailable": "target",
    "template_alias_unavailable": "target",
    "user_provisioning_failed": "runtime",
    "launch_url_internal": "runtime",
    "provisioning_failed": "runtime",
    "analytics_empty": "analytics",
}

# What the customer admin does about each case (told to the admin, or to whoever asks them).
ADMIN_TASK: dict[str, str] = {
    "role_not_mapped": "map the identity-provider group to the customer admin role",
    "role_changed_after_sign_in": "confirm the role change; the user signs out and back in",
    "navigation_stale": "check the role mapping; the user signs out and back in",
    "member_analytics_expected": "run a usage review",
    "invite_consumed": "reissue the invite",
    "invite_expired": "reissue the invite",
    "billing_approval_missing": "take the billing approval to ISM support (billing review)",
    "prepaid_balance_missing": "top up the prepaid workspace-time balance",
    "ai_credit_missing": "add managed-AI credit",
    "sso_incomplete": "complete the missing SSO steps",
    "target_unavailable": "escalate the unavailable target to ISM support",
    "template_alias_unavailable": "escalate the unavailable template alias to ISM support",
    "user_provisioning_failed": "escalate the failed user provisioning to ISM support",
    "launch_url_internal": "report the internal launch URL host to ISM support",
    "provisioning_failed": "read the build logs, then retry, cancel, stop or delete",
    "analytics_empty": "check the analytics selection",
}

# What a customer admin may do instead of escalating.
ALTERNATIVE = {"target_unavailable": " (or pick an available allowed target)",
               "template_alias_unavailable": " (or pick an available template alias)"}

# The actions that resolve a case, in the order offered, and the keys that reach them.
CASE_ACTIONS: dict[str, tuple[str, ...]] = {
    "invite_consumed": ("reissue_invite",),
    "invite_expired": ("reissue_invite",),
    "provisioning_failed": ("retry", "cancel", "stop", "delete"),
}
ACTION_WORDS = {"reissue_invite": "reissue", "retry": "retry", "cancel": "cancel",
                "stop": "stop", "delete": "delete", "start": "start"}


def admin_names(emails: Sequence[str], most: int = 2) -> str:
    """``a@x`` / ``a@x or b@x`` / ``a@x, b@x or 2 more``; ``""`` when none is known."""
    known = [e for e in emails if e]
    if len(known) <= most:
        return " or ".join(known)
    return f"{', '.join(known[:most])} or {len(known) - most} more"


def you_can_text(case: str, allowed: Sequence[str]) -> str | None:
    """"`a` reissue" for the case's actions the viewer may run now (None if none)."""
    words = [ACTION_WORDS[a] for a in CASE_ACTIONS.get(case, ()) if a in allowed]
    if not words:
        return None
    keys = "`l` build logs, then " if case == "provisioning_failed" else ""
    return f"{keys}`a` {' / '.join(words)}"


def route(b: Blocker, viewer_role: str, admins: Sequence[str] = (),
          allowed: Sequence[str] = (), read_only: bool = False) -> Route:
    """How ``b`` is routed for a viewer of ``viewer_role``. ``admins``: the customer admins of
    the blocker's customer; ``allowed``: the actions the policy lets this viewer run on the
    blocker's subject now; ``read_only``: the viewer's role could act but ism-tui may not."""
    kind = KIND.get(b.case, "runtime")
    names = admin_names(admins)
    you_can = you_can_text(b.case, allowed)
    if read_only and you_can:
        words = [ACTION_WORDS[a] for a in CASE_ACTIONS[b.case] if a in allowed]
        you_can = f"your role can {' / '.join(words)}, but ism-tui is read-only here"
    if viewer_role == MEMBER:
        return _member(b, kind, names)
    if viewer_role == ADMIN:
        return _admin(b, kind, you_can, read_only)
    if viewer_role == OPERATOR:
        return _operator(b, kind, names, you_can)
    return Route(viewer_role, b.owner, b.escalate_to, b.steps[0] if b.steps else "")


def _your_admin(names: str) -> str:
    return f"your {CUSTOMER_ADMIN} {names}" if names else f"your {CUSTOMER_ADMIN}"


def _member(b: Blocker, kind: str, names: str) -> Route:
    admin = _your_admin(names)
    if kind == "explained":
        return Route(MEMBER, "nobody: this is expected", None,
                     "Analytics is for customer admins and platform operators: ask "
                     f"{admin} for a usage review")
    if kind == "setup" and b.case != "role_not_mapped":
        return Route(MEMBER, "you, then " + admin, f"{CUSTOMER_ADMIN} {names}".strip(),
                     f"sign out and back in; if it stays, ask {admin} to "
                     f"{ADMIN_TASK[b.case]}")
    step = f"ask {admin} to {ADMIN_TASK.get(b.case, 'look at it')}"
    if b.case == "role_not_mapped":
        step = f"sign out and back in; if the navigation is still missing, {step}"
    if kind == "invite":
        step += "; do not send the invite link in chat"
    return Route(MEMBER, admin, f"{CUSTOMER_ADMIN} {names}".strip(), step)


def _admin(b: Blocker, kind: str, you_can: str | None, read_only: bool) -> Route:
    task = ADMIN_TASK.get(b.case, "look at it")
    if kind == "invite":
        step = "reissue it now" if you_can and not read_only else f"{task} in Console"
        return Route(ADMIN, "you", None, step + "; never send the invite link in chat", you_can)
    if kind == "explained":
        return Route(ADMIN, "you", None, f"explain it: expected behaviour; {task} if they "
                     "need customer-level usage")
    if kind == "analytics":
        return _analytics(b, ADMIN)
    if kind == "setup":
        return Route(ADMIN, "you", ISM_SUPPORT,
                     f"{task}; if it is mapped and still missing, escalate to {ISM_SUPPORT}")
    if kind == "billing":
        return Route(ADMIN, "you", BILLING_REVIEW,
                     f"{task}; if that needs a billing review, escalate to {BILLING_REVIEW}")
    if kind == "billing review":
        return Route(ADMIN, BILLING_REVIEW, BILLING_REVIEW, f"escalate to {BILLING_REVIEW}")
    if kind == "sso":
        return Route(ADMIN, "you", ISM_SUPPORT,
                     f"{task}; escalate to {ISM_SUPPORT} if you are stuck")
    if b.case == "provisioning_failed":
        return Route(ADMIN, "you", RUNTIME,
                     f"{task} through Console (never delete storage by hand); escalate to "
                     f"{RUNTIME} if it keeps failing", you_can)
    return Route(ADMIN, ISM_SUPPORT, ISM_SUPPORT, task + ALTERNATIVE.get(b.case, ""))


def _operator(b: Blocker, kind: str, names: str, you_can: str | None) -> Route:
    admin = f"{CUSTOMER_ADMIN} {names}".strip()
    task = ADMIN_TASK.get(b.case, "look at it")
    if kind == "invite":
        return Route(OPERATOR, f"you or the {admin}", None,
                     "reissue it; never send the invite link in chat", you_can)
    if kind == "explained":
        return Route(OPERATOR, "nobody: this is expected", None,
                     f"explain it; the {admin} can run a usage review")
    if kind == "analytics":
        return _analytics(b, OPERATOR)
    if b.case == "provisioning_failed":
        return Route(OPERATOR, f"you or the {admin}", RUNTIME,
                     f"{task} through Console; manual runtime cleanup is an operator "
                     "fallback, not the normal customer path", you_can)
    if kind in ("setup", "billing", "sso"):
        escalate = BILLING_REVIEW if kind == "billing" else ISM_SUPPORT
        return Route(OPERATOR, admin, escalate, f"the {admin} should {task}")
    if kind == "billing review":
        return Route(OPERATOR, BILLING_REVIEW, BILLING_REVIEW,
                     f"send it to {BILLING_REVIEW}")
    return Route(OPERATOR, ISM_SUPPORT, ISM_SUPPORT, task)


def _analytics(b: Blocker, role: str) -> Route:
    """Fix-it-yourself reasons carry their fix; only a correct period with usage still
    missing (reconciliation, provider delay) goes to ISM support."""
    reason = b.reason or ""
    fix = ANALYTICS_FIXES.get(reason, "check the selected customer scope and period")
    if reason in ANALYTICS_FIX_REASONS:
        return Route(role, "you", None, fix)
    return Route(role, ISM_SUPPORT, ISM_SUPPORT,
                 f"{fix}; send {ISM_SUPPORT} the selected period and reconciliation status")

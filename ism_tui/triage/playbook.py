"""The support playbook (``shared/seed``) as data: per case, its steps, owner and fields.

Wording follows the playbook; rules in ``ism_tui.triage.rules`` decide which case applies.
"""

from __future__ import annotations

from dataclasses import dataclass

CUSTOMER_MEMBER = "customer member"
CUSTOMER_ADMIN = "customer admin"
ISM_SUPPORT = "ISM support"
PLATFORM_OPERATOR = "platform operator"

THE_USER = "the user"

CRITICAL, HIGH, MEDIUM, INFO = 3, 2, 1, 0
SEVERITY_WORDS = {CRITICAL: "critical", HIGH: "high", MEDIUM: "medium", INFO: "info"}

ROUTING = ("Customer members escalate setup and billing blockers to a customer admin; customer "
           "admins escalate target, runtime, SSO, or billing review blockers to ISM support.")

DONE_WHEN = (
    "You have signed out and back in after role changes.",
    "You read the blocker message before retrying.",
    "Customer members escalated setup and billing blockers to a customer admin.",
    "Customer admins escalated target, runtime, SSO, or billing review blockers to ISM support.",
)

_CREATE_STEPS = (
    "Read the blocker shown by Console.",
    "Resolve the blocker (see who acts next).",
    "Retry only after the blocker is resolved.",
)
# "Invite lands on access denied": the four steps, whatever the invite's state.
_INVITE_STEPS = (
    "Sign out of the identity provider.",
    "Reopen the invite.",
    "Complete the invite acceptance flow.",
    "Open Console directly after acceptance.",
)
_SIGN_IN_FIELDS = ("user_email", "customer", "expected_role", "visible_navigation",
                   "approx_sign_in_time", "role_changed_at")
_CREATE_FIELDS = ("customer", "workspace", "blocker", "blocker_message", "since")


@dataclass(frozen=True)
class Case:
    id: str
    title: str
    severity: int
    owner: str  # who acts next
    escalate_to: str | None  # None: explained, never escalated
    steps: tuple[str, ...]
    fields: tuple[str, ...]  # the escalation fields the playbook requires
    done_when: tuple[str, ...] = DONE_WHEN


def _create(case_id: str, title: str, owner: str, escalate_to: str, fix: str) -> Case:
    return Case(case_id, title, CRITICAL, owner, escalate_to, (*_CREATE_STEPS[:1], fix,
                                                                *_CREATE_STEPS[2:]),
                _CREATE_FIELDS)


CASES: dict[str, Case] = {c.id: c for c in (
    Case("role_not_mapped", "Missing account setup or analytics: role not mapped", HIGH,
         CUSTOMER_ADMIN, ISM_SUPPORT,
         ("Sign out and sign in again.",
          "If the expected navigation is still missing, the user may not be mapped to the "
          "customer admin role: a customer admin maps the role, or escalates to ISM support."),
         ("user_email", "customer", "expected_role", "visible_navigation",
          "approx_sign_in_time")),
    Case("role_changed_after_sign_in",
         "Role changed after the last sign-in: sign out and back in", MEDIUM, THE_USER,
         CUSTOMER_ADMIN,
         ("Sign out and sign in again: the role changed after the last sign-in, so Console "
          "still shows the old role's navigation.",
          "If the expected navigation is still missing after signing in again, the user may "
          "not be mapped to the customer admin role: escalate with the fields below."),
         _SIGN_IN_FIELDS),
    Case("navigation_stale", "Customer admin's navigation lacks admin items", MEDIUM, THE_USER,
         ISM_SUPPORT,
         ("Sign out and sign in again.",
          "If the expected navigation is still missing, the user may not be mapped to the "
          "customer admin role: escalate to ISM support with the fields below."),
         _SIGN_IN_FIELDS),
    Case("member_analytics_expected", "Customer member cannot open Analytics (expected)", INFO,
         CUSTOMER_MEMBER, None,
         ("That is expected. Analytics is for customer admins and platform operators.",
          "Ask a customer admin for a usage review if you need customer-level usage."),
         ("user_email", "customer")),
    Case("invite_consumed", "Invite lands on access denied: invite already consumed", HIGH,
         CUSTOMER_ADMIN, CUSTOMER_ADMIN,
         (*_INVITE_STEPS,
          "The invite was already consumed: ask a customer admin or operator to reissue it.",
          "Do not send the invite link in support chat."),
         ("email", "customer", "invite_state", "expires_at")),
    Case("invite_expired", "Invite lands on access denied: invite expired", HIGH,
         CUSTOMER_ADMIN, CUSTOMER_ADMIN,
         (*_INVITE_STEPS,
          "The invite expired: ask a customer admin or operator to reissue it.",
          "Do not send the invite link in support chat."),
         ("email", "customer", "invite_state", "expires_at")),
    _create("billing_approval_missing", "Create Workspace blocked: missing billing approval",
            CUSTOMER_ADMIN, f"{ISM_SUPPORT} (billing review)",
            "A customer admin follows up the billing approval; billing review goes to ISM "
            "support."),
    _create("prepaid_balance_missing",
            "Create Workspace blocked: missing prepaid workspace-time balance", CUSTOMER_ADMIN,
            f"{ISM_SUPPORT} (billing review)",
            "A customer admin tops up the prepaid workspace-time balance."),
    _create("ai_credit_missing", "Create Workspace blocked: missing managed-AI credit",
            CUSTOMER_ADMIN, f"{ISM_SUPPORT} (billing review)",
            "A customer admin adds managed-AI credit."),
    _create("target_unavailable", "Create Workspace blocked: unavailable workspace target",
            ISM_SUPPORT, ISM_SUPPORT,
            "The customer admin escalates the target to ISM support (or picks an available "
            "allowed target)."),
    _create("sso_incomplete", "Create Workspace blocked: incomplete SSO setup", CUSTOMER_ADMIN,
            ISM_SUPPORT,
            "A customer admin completes the missing SSO steps; escalate to ISM support if "
            "stuck."),
    _create("template_alias_unavailable", "Create Workspace blocked: unavailable template alias",
            ISM_SUPPORT, ISM_SUPPORT,
            "The customer admin escalates the template alias to ISM support."),
    _create("user_provisioning_failed",
            "Create Workspace blocked: failed workspace user provisioning", ISM_SUPPORT,
            ISM_SUPPORT,
            "The customer admin escalates the failed provisioning (runtime) to ISM support."),
    Case("launch_url_internal", "Workspace launch opens the wrong place", HIGH,
         PLATFORM_OPERATOR, ISM_SUPPORT,
         ("Browser IDE should open through the public workspace URL.",
          "Report it with the workspace name, launch action, and visible URL host.",
          "Do not include session tokens or cookies."),
         ("workspace", "customer", "launch_action", "url_host", "reason")),
    Case("provisioning_failed", "Create fails after provisioning starts", CRITICAL,
         CUSTOMER_ADMIN, ISM_SUPPORT,
         ("Do not manually delete storage.",
          "A customer admin or operator inspects the build logs and decides whether to retry, "
          "cancel, stop, or delete through Console.",
          "Manual runtime cleanup is an operator fallback, not the normal customer path."),
         ("workspace", "customer", "build_id", "failing_stage", "error", "last_log_lines")),
    Case("analytics_empty", "Analytics looks empty", MEDIUM, CUSTOMER_ADMIN, ISM_SUPPORT,
         ("Check the selected customer scope, the selected period, reconciliation status, "
          "whether the workspace was running during the period, and whether provider usage "
          "may be delayed.",
          "If the period is correct and usage is still missing, send support the selected "
          "period and visible reconciliation status."),
         ("customer", "reason", "fix", "selected_period", "reconciliation_status",
          "provider_data_through")),
)}

CREATE_BLOCKER_CASES = (
    "billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
    "target_unavailable", "sso_incomplete", "template_alias_unavailable",
    "user_provisioning_failed",
)
# Empty analytics: the reasons a viewer fixes in the selection itself (never escalated), and
# each reason's fix. Only a correct period with usage still missing goes to ISM support.
ANALYTICS_FIX_REASONS = ("scope", "period", "not_running")
ANALYTICS_FIXES = {
    "scope": "select the customer account that owns the workspaces (a look-alike customer "
             "holds the usage)",
    "period": "select a period in which the workspaces ran (this one has no usage at all)",
    "not_running": "nothing to fix: no workspace ran during the period, so no usage is "
                   "expected",
    "reconciliation": "the period is correct but reconciliation is not done",
    "provider_delay": "the period is correct but provider usage is delayed",
}

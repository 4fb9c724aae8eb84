"""Column layouts of the console's tables (fixed widths: they fit 80 columns; the last grows)."""

from __future__ import annotations

from typing import Any

from ism_tui.known_values import marked
from ism_tui.triage.readiness import readiness_word
from screens.flags import FLAG_WIDTH, SEVERITY_STYLE, STATUS_STYLE, flag_for, state_style
from screens.window_table import Column
from storage.dbapi import RowDict


def _flag(row: RowDict) -> tuple[str, str]:
    return flag_for(row.get("_cases") or [])


def _status(key: str) -> Any:
    def render(row: RowDict) -> tuple[str, str]:
        value = str(row.get(key) or "")
        return marked(value), STATUS_STYLE.get(value, "")
    return render


def _day(key: str) -> Any:
    def render(row: RowDict) -> tuple[str, str]:
        value = row.get(key) or ""
        return value[:16].replace("T", " "), ""
    return render


def _hours(row: RowDict) -> tuple[str, str]:
    value = row.get("prepaid_seconds_left")
    if value is None:
        return "—", "dim"
    return f"{value / 3600:,.0f} h", "bold red" if value <= 0 else ""


def _credit(row: RowDict) -> tuple[str, str]:
    value = row.get("ai_credit_left")
    if value is None:
        return "—", "dim"
    return f"{value:,.0f}", "bold red" if value <= 0 else ""


READINESS_STYLE = {"ready": ("✔ ready", "green"), "blocked": ("✖ ", "bold red"),
                   "limited": ("⚠ ", "bold yellow")}


def _readiness(row: RowDict) -> tuple[str, str]:
    """Whether the customer can create workspaces now, from the cached state."""
    state, word = readiness_word(str(row.get("not_ready") or "").split(","))
    text, style = READINESS_STYLE[state]
    return (text + word if word else text), style


def _build(row: RowDict) -> tuple[str, str]:
    status = row.get("build_job_status") or ""
    transition = row.get("build_transition") or ""
    return (f"{marked(transition)} {marked(status)}".strip(), STATUS_STYLE.get(status, ""))


ROLE_SHORT = {"customer_member": "member", "customer_admin": "admin",
              "platform_operator": "operator"}


def _role(row: RowDict) -> tuple[str, str]:
    role = str(row.get("role") or "")
    return ROLE_SHORT.get(role, marked(role)), ""


def _date(key: str) -> Any:
    def render(row: RowDict) -> tuple[str, str]:
        return str(row.get(key) or "—")[:10], ""
    return render


def _severity(row: RowDict) -> tuple[str, str]:
    return SEVERITY_STYLE.get(int(row.get("severity") or 0), ("?", ""))


def _triage_state(row: RowDict) -> tuple[str, str]:
    state = str(row.get("_state") or "new")
    mark = row.get("_mark") or {}
    word, style = state_style(state, mark)
    return (f"{word} ✎" if mark.get("note") else word), style


def _case(row: RowDict) -> tuple[str, str]:
    return str(row.get("case") or ""), ""


WORKSPACE_COLUMNS = [
    Column("_flag", "", FLAG_WIDTH, render=_flag),
    Column("name", "Workspace", 22, sort="name"),
    Column("status", "Status", 9, sort="status", render=_status("status")),
    Column("customer", "Customer", 16, sort="customer"),
    Column("build", "Latest build", 15, render=_build),
    Column("template_alias", "Template", 12),
    Column("owner_email", "Owner", 16, sort="owner"),
]
USER_COLUMNS = [
    Column("_flag", "", FLAG_WIDTH, render=_flag),
    Column("email", "Email", 28, sort="email"),
    Column("role", "Role", 7, sort="role", render=_role),
    Column("customer", "Customer", 14, sort="customer"),
    Column("last_sign_in_at", "Signed in", 10, sort="sign_in", render=_date("last_sign_in_at")),
    Column("name", "Name", 10, sort="name"),
]
INVITE_COLUMNS = [
    Column("_flag", "", FLAG_WIDTH, render=_flag),
    Column("email", "Email", 28, sort="email"),
    Column("state", "State", 9, sort="state", render=_status("state")),
    Column("customer", "Customer", 16, sort="customer"),
    Column("expires_at", "Expires", 10, sort="expires", render=_date("expires_at")),
    Column("issued_by", "Issued by", 16),
]
CUSTOMER_COLUMNS = [
    Column("_flag", "", FLAG_WIDTH, render=_flag),
    Column("name", "Customer", 18, sort="name"),
    Column("billing_approval", "Billing", 9, sort="billing",
           render=_status("billing_approval")),
    Column("prepaid", "Prepaid", 8, render=_hours),
    Column("ai", "AI cred.", 8, render=_credit),
    Column("sso_state", "SSO", 10, sort="sso", render=_status("sso_state")),
    Column("not_ready", "Readiness", 11, sort="ready", render=_readiness),
]
BLOCKER_COLUMNS = [
    Column("severity", "Sev.", 7, sort="severity", render=_severity),
    Column("_state", "Triage", 10, render=_triage_state),
    Column("customer", "Customer", 14, sort="customer"),
    Column("case", "Case", 22, sort="case", render=_case),
    Column("summary", "Summary", 20),
]
TEMPLATE_COLUMNS = [
    Column("alias", "Alias", 14, sort="alias"),
    Column("template_name", "Template", 20, sort="template"),
    Column("template_version", "Version", 8),
    Column("state", "State", 11, sort="state", render=_status("state")),
    Column("state_since", "Since", 10, render=_date("state_since")),
    Column("state_reason", "Reason", 12),
]

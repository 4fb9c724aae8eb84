"""How blockers show in tables and panes: a glyph AND a word (readable without colour)."""

from __future__ import annotations

from typing import Any

from ism_tui.triage.playbook import CREATE_BLOCKER_CASES

FLAG_WIDTH = 10


def flag_for(cases: list[str]) -> tuple[str, str]:
    """(text, style) for the most severe case of a row; ("", "") when none."""
    if not cases:
        return "", ""
    case = cases[0]
    more = "+" if len(cases) > 1 else ""
    if case in CREATE_BLOCKER_CASES or case == "provisioning_failed":
        return f"✖ BLOCKED{more}", "bold red"
    if case == "launch_url_internal":
        return f"⚠ URL{more}", "bold yellow"
    if case == "role_not_mapped":
        return f"⚠ ROLE{more}", "bold yellow"
    if case.startswith("invite_"):
        return f"✖ {case.removeprefix('invite_').upper()}{more}", "bold red"
    if case == "analytics_empty":
        return f"⚠ EMPTY{more}", "yellow"
    return f"ℹ NOTE{more}", "cyan"


SEVERITY_STYLE = {3: ("✖ CRIT", "bold red"), 2: ("⚠ HIGH", "bold yellow"),
                  1: ("⚠ MED", "yellow"), 0: ("ℹ INFO", "cyan")}

STATUS_STYLE = {
    "running": "green", "failed": "bold red", "stopped": "dim", "deleted": "dim",
    "pending": "yellow", "starting": "yellow", "stopping": "yellow", "deleting": "yellow",
    "canceling": "yellow", "canceled": "dim",
    "consumed": "bold red", "expired": "bold red", "revoked": "dim", "accepted": "green",
    "approved": "green", "missing": "bold red", "complete": "green", "incomplete": "bold red",
    "none": "dim", "ok": "green", "available": "green", "deprecated": "bold yellow",
    "unavailable": "bold red", "degraded": "yellow",
}

# The lead's triage state of a blocker (``ism_tui.triage.trail``), glyph and word.
STATE_STYLE = {"new": ("● NEW", "bold cyan"), "seen": ("· seen", "dim"),
               "working": ("▶ WORK", "bold green"), "escalated": ("⇧ ESC", "bold magenta"),
               "waiting": ("… WAIT", "yellow"), "snoozed": ("z SNOOZE", "dim"),
               "reopened": ("↻ REOPEN", "bold red"), "woken": ("▲ WORSE", "bold yellow")}


def state_style(state: str, mark: dict[str, Any] | None) -> tuple[str, str]:
    """``STATE_STYLE`` of the state a blocker shows: a new one says if it came back after
    being resolved, or if a severity rise ended its snooze."""
    if state == "new" and mark:
        state = "reopened" if mark.get("reopened") else "woken" if mark.get("woken_at") else state
    return STATE_STYLE.get(state, (state, ""))

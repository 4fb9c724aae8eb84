"""What an action will do and what it did, in words an operator reads (never a link or token).

Every string here is built from cached or returned data, one-lined and scrubbed, so it is safe
for a terminal, a notification (rendered literally) and the audit trail.
"""

from __future__ import annotations

from typing import Any

from ism_tui.actions.targets import Subject
from ism_tui.api import models as m
from ism_tui.redact import scrub
from ism_tui.text import one_line


def _s(value: Any, width: int = 80) -> str:
    return scrub(one_line(str(value) if value is not None else "", width))


def _owner(subject: Subject) -> str:
    owner = subject.row.get("owner_email")
    return f" (owner {_s(owner)})" if owner else ""


def _of_customer(subject: Subject) -> str:
    return f" of {_s(subject.customer_name)}" if subject.customer_name else ""


def describe(action: str, subject: Subject) -> str:
    """The effect, e.g. ``Stop workspace payments-api-dev of Acme Robotics (owner alice@...)``."""
    row = subject.row
    name = _s(subject.name)
    where = f"{_of_customer(subject)}{_owner(subject)}"
    if action == "reissue_invite":
        to = f" to {_s(subject.customer_name)}" if subject.customer_name else ""
        return (
            f"Reissue the invite of {_s(row.get('email'))}{to} as {_s(row.get('role'))} "
            f"(invite {_s(row.get('state'))}): Console emails a new invite and the old one "
            "stops working"
        )
    if action == "cancel":
        number = row.get("build_number")
        return (
            f"Cancel build #{number} ({_s(row.get('build_transition'))}, "
            f"{_s(row.get('build_job_status'))}) of workspace {name}{where}"
        )
    if action == "retry":
        what = "the failed create" if row.get("build_id") else "the blocked create"
        return f"Retry {what} of workspace {name}{where}"
    if action == "delete":
        return (
            f"Delete workspace {name}{where} through a delete build in Console "
            "(never by removing storage by hand)"
        )
    return f"{action.capitalize()} workspace {name}{where}"


def build_phrase(build: m.Build | None) -> str:
    if build is None:
        return ""
    return f"build #{build.build_number} ({build.transition}) is {build.job_status}"


def success(action: str, subject: Subject, result: m.ActionResult) -> str:
    """The result in one line; a reissued invite is named by email and expiry, never by link."""
    name = _s(subject.name)
    if action == "reissue_invite":
        invite = result.invite
        if invite is None:
            return f"Invite for {_s(subject.row.get('email'))} reissued"
        expires = invite.expires_at.strftime("%Y-%m-%d %H:%M UTC") if invite.expires_at else \
            "no expiry given"
        return f"New invite sent to {_s(invite.email)}, expires {expires}"
    phrase = build_phrase(result.build)
    tail = f": {phrase}" if phrase else ""
    if action == "cancel":
        return f"Cancel requested for workspace {name}{tail}"
    if action == "retry":
        return f"Retry started for workspace {name}{tail}"
    verb = {"start": "Start", "stop": "Stop", "delete": "Delete"}.get(action, action)
    return f"{verb} requested for workspace {name}{tail}"


def failure(action: str, subject: Subject, error: BaseException) -> str:
    """A failed call, with the Console's reason for 409/403 kept verbatim (scrubbed)."""
    status = getattr(error, "status", None) or getattr(error, "status_code", None)
    reason = getattr(error, "message", None) or str(error) or error.__class__.__name__
    reason = _s(reason, 300)
    kind = error.__class__.__name__
    if status == 409 or kind == "Conflict":
        return f"Console refused to {_verb(action)} {_s(subject.name)}: {reason}"
    if status == 403 or kind == "PermissionDenied":
        return f"Not permitted to {_verb(action)} {_s(subject.name)} (403): {reason}"
    return f"Could not {_verb(action)} {_s(subject.name)}: {reason}"


def _verb(action: str) -> str:
    return {"reissue_invite": "reissue the invite of", "cancel": "cancel the build of"}.get(
        action, action
    )

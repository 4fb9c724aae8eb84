"""Who may do which action on what, decided from cached rows alone (pure, no I/O).

``decide`` answers one action; ``available_actions`` answers every action that applies to a
subject, so a screen can show the refused ones disabled with their reason. The server enforces
the same rules (403/409); deciding locally first means an operator sees why before pressing.

Order of checks, and so which reason wins: read-only mode, the subject's kind, the actor's role
and customer scope, the subject's state, then unresolved blockers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES, CANCELABLE_JOB_STATUSES

# the playbook's seven create blockers (the wire models' codes, without importing pydantic: the
# triage pane routes blockers through this policy before the console has imported it)
from ism_tui.triage.playbook import CREATE_BLOCKER_CASES as CREATE_BLOCKER_CODES

ActionName = Literal["reissue_invite", "retry", "cancel", "start", "stop", "delete"]
SubjectKind = Literal["workspace", "invite"]

ACTIONS: tuple[ActionName, ...] = ("reissue_invite", "retry", "cancel", "start", "stop", "delete")
WORKSPACE_ACTIONS: tuple[ActionName, ...] = ("retry", "cancel", "start", "stop", "delete")
INVITE_ACTIONS: tuple[ActionName, ...] = ("reissue_invite",)
ACTION_KIND: dict[str, SubjectKind] = {
    **{a: "workspace" for a in WORKSPACE_ACTIONS},
    "reissue_invite": "invite",
}
READ_ONLY_REASON = "read-only mode (--read-only / read_only = true)"
ALLOWED = "allowed"

STARTABLE = frozenset({"stopped", "failed", "canceled"})
REISSUABLE = frozenset({"consumed", "expired", "revoked"})


@dataclass(frozen=True)
class Decision:
    """Whether an action may run, and if not, the reason to show (``"allowed"`` otherwise)."""

    allowed: bool
    reason: str

    @classmethod
    def ok(cls) -> Decision:
        return cls(True, ALLOWED)

    @classmethod
    def refuse(cls, reason: str) -> Decision:
        return cls(False, reason)


def _get(obj: Any, name: str, default: Any = None) -> Any:
    """A field of a dict or of an object (pydantic model, dataclass, ORM row)."""
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def subject_kind(subject: Mapping[str, Any]) -> SubjectKind | None:
    """The kind of a cached row: ``_kind`` if set, else guessed from the columns it has."""
    kind = subject.get("_kind")
    if kind in ("workspace", "invite"):
        return kind  # type: ignore[no-any-return]
    if "build_job_status" in subject or "owner_user_id" in subject:
        return "workspace"
    if "expires_at" in subject or "replaced_by" in subject:
        return "invite"
    return None


def blocker_code(blocker: Any) -> str | None:
    """The create-blocker code a blocker stands for (``None`` for other blockers).

    Accepts triage blockers (``case``) and Console-reported create blockers (``code``); a case
    may be namespaced (``create_blocked:sso_incomplete``).
    """
    for field in ("code", "case"):
        value = _get(blocker, field)
        if not isinstance(value, str):
            continue
        for code in CREATE_BLOCKER_CODES:
            if value == code or value.endswith(":" + code):
                return code
    return None


def blocker_text(blocker: Any) -> str:
    """One line naming a blocker for a refusal reason."""
    for field in ("summary", "message"):
        value = _get(blocker, field)
        if isinstance(value, str) and value.strip():
            return " ".join(value.split())
    return blocker_code(blocker) or str(_get(blocker, "case") or "unresolved blocker")


def unresolved_create_blockers(blockers: Iterable[Any]) -> list[Any]:
    return [
        b for b in blockers if blocker_code(b) is not None and not _get(b, "resolved", False)
    ]


def _who(actor: Any, subject: Mapping[str, Any], customer_admins: Sequence[str]) -> str | None:
    """The refusal reason for this actor on this subject's customer, or None if permitted."""
    role = _get(actor, "role")
    if role == "platform_operator":
        return None
    if role == "customer_admin":
        own = _get(actor, "customer_id")
        if own is not None and own == subject.get("customer_id"):
            return None
        return "customer admins can act only on their own customer; this belongs to another one"
    if role == "customer_member":
        admins = ", ".join(a for a in customer_admins if a)
        return "customer members cannot act: ask your customer admin" + (
            f" {admins}" if admins else ""
        )
    return f"unknown role {role!r}: cannot act"


def _state(action: str, subject: Mapping[str, Any], blockers: Sequence[Any]) -> str | None:
    """The refusal reason for the subject's current state, or None if the action fits it."""
    if action == "reissue_invite":
        state = subject.get("state")
        if subject.get("replaced_by"):
            return f"invite was already replaced by {subject['replaced_by']}"
        if state not in REISSUABLE:
            return (
                f"reissue applies only to a consumed, expired or revoked invite (invite is {state})"
            )
        return None
    status = subject.get("status")
    job = subject.get("build_job_status")
    transition = subject.get("build_transition")
    has_build = subject.get("build_id") is not None
    build_desc = f"latest build is {transition} {job}" if has_build else "workspace has no build"
    if status == "deleted":
        return "workspace is deleted"
    if action == "cancel":
        if not has_build or job not in CANCELABLE_JOB_STATUSES:
            return f"cancel applies only to a pending or running build ({build_desc})"
        return None
    if action == "delete":
        if has_build and job in ACTIVE_JOB_STATUSES:
            return f"delete is refused while a build runs ({build_desc}): cancel it first"
        if status == "deleting":
            return "workspace is already being deleted"
        return None
    if action == "stop":
        if status != "running" or (has_build and job in ACTIVE_JOB_STATUSES):
            return f"stop applies only to a running workspace (workspace is {status})"
        return None
    if action == "start":
        if status not in STARTABLE or (has_build and job in ACTIVE_JOB_STATUSES):
            return (
                "start applies only to a stopped, failed or canceled workspace "
                f"(workspace is {status})"
            )
        return None
    if action == "retry":
        failed_create = has_build and transition == "start" and job == "failed"
        blocked_create = not has_build and status == "pending" and bool(
            _create_blockers_of(subject) or unresolved_create_blockers(blockers)
        )
        if not (failed_create or blocked_create):
            return (
                "retry applies only to a failed create or a blocked create "
                f"(workspace is {status}, {build_desc})"
            )
        pending = unresolved_create_blockers(blockers)
        if pending:
            return f"retry only after the blocker is resolved: {blocker_text(pending[0])}"
        return None
    return f"unknown action {action!r}"


def _create_blockers_of(subject: Mapping[str, Any]) -> list[Any]:
    """Console-reported create blockers of a workspace row (JSON text or an already-parsed list)."""
    raw = subject.get("create_blockers")
    if isinstance(raw, str):
        import json

        try:
            raw = json.loads(raw or "[]")
        except ValueError:
            return []
    return list(raw) if isinstance(raw, list) else []


def decide(
    action: str,
    actor: Any,
    subject: Mapping[str, Any],
    blockers: Sequence[Any] = (),
    read_only: bool = False,
    *,
    customer_admins: Sequence[str] = (),
) -> Decision:
    """May ``actor`` (a ``Me``-like object or dict) run ``action`` on ``subject`` (a cached
    workspace or invite row dict)?

    ``blockers`` are the subject's triage blockers (unresolved ones block a retry);
    ``customer_admins`` are the subject customer's admin emails, named when a member is refused.
    """
    if action not in ACTIONS:
        return Decision.refuse(f"unknown action {action!r}: choose one of {', '.join(ACTIONS)}")
    if read_only:
        return Decision.refuse(READ_ONLY_REASON)
    kind = subject_kind(subject)
    wanted = ACTION_KIND[action]
    if kind != wanted:
        return Decision.refuse(f"{action} applies to {wanted}s, not to {kind or 'this object'}")
    refusal = _who(actor, subject, customer_admins) or _state(action, subject, blockers)
    return Decision.refuse(refusal) if refusal else Decision.ok()


def actions_for(kind: SubjectKind | None) -> tuple[ActionName, ...]:
    if kind == "workspace":
        return WORKSPACE_ACTIONS
    if kind == "invite":
        return INVITE_ACTIONS
    return ()


def available_actions(
    actor: Any,
    subject: Mapping[str, Any],
    blockers: Sequence[Any] = (),
    read_only: bool = False,
    *,
    customer_admins: Sequence[str] = (),
) -> list[tuple[ActionName, Decision]]:
    """Every action that applies to the subject's kind, each with its decision (in menu order)."""
    return [
        (a, decide(a, actor, subject, blockers, read_only, customer_admins=customer_admins))
        for a in actions_for(subject_kind(subject))
    ]

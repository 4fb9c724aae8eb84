"""Guarded actions: plan (decide + describe), confirm, execute once, audit, re-sync.

The flow every front end follows (the CLI ``act`` command, the TUI's confirm modal)::

    service = ActionService(services)
    plan = service.plan("stop", "payments-api-dev")      # TargetError if unknown/ambiguous
    if not plan.allowed: service.refuse(plan)            # audited, shows plan.reason
    ...ask: plan.description, plan.prompt (delete: type plan.confirm_text)...
    service.cancel(plan)                                 # the user said no: audited
    outcome = await service.execute(plan, confirmed_by="modal", typed_name=...)

``execute`` re-checks the policy on the freshly cached row, writes ``confirmed``, sends the POST
with the plan's Idempotency-Key (the same key on every network retry and on a second execute of
the same plan, so the Console acts once), writes ``succeeded`` or ``failed`` with the server's
reason, stores what the Console returned, re-syncs the touched objects and recomputes blockers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, cast

from ism_tui.actions import messages
from ism_tui.actions.idempotency import InFlight, new_key
from ism_tui.actions.policy import (
    ACTION_KIND,
    ACTIONS,
    ActionName,
    Decision,
    available_actions,
    decide,
)
from ism_tui.actions.targets import Subject, TargetError, load_subject, resolve
from ism_tui.api import models as m
from ism_tui.redact import scrub
from ism_tui.text import one_line
from ism_tui.triage.store import blockers_for, recompute_blockers, retry_blockers
from storage.audit import AuditEntry, record
from storage.db import get_meta

log = logging.getLogger("ism_tui.actions")
OutcomeStatus = Literal["succeeded", "failed", "refused", "cancelled"]
Progress = Callable[[str], None]
CONFIRMED_BY_FLAG = "--yes"  # non-interactive assent: skips typing the name for a delete
RETRYABLE = frozenset({"Unavailable", "RateLimited", "TransportError", "TimeoutException"})


class ActionError(Exception):
    """An action cannot be planned (who you are is unknown, bad action name...)."""


@dataclass
class ActionPlan:
    """One intended action: what, on which subject, by whom, the verdict and the wording.

    The Idempotency-Key is fixed when the plan is made: every send of this plan uses it."""

    action: ActionName
    subject: Subject
    actor: m.Me
    decision: Decision
    description: str
    blockers: tuple[Any, ...] = ()
    idempotency_key: str = field(default_factory=new_key)

    @property
    def allowed(self) -> bool:
        return self.decision.allowed

    @property
    def reason(self) -> str:
        return self.decision.reason

    @property
    def target_id(self) -> str:
        return self.subject.id

    @property
    def requires_typed_name(self) -> bool:
        return self.action == "delete"

    @property
    def confirm_text(self) -> str:
        """What to type to confirm (a delete: the workspace name as shown), else ``""``."""
        return _shown(self.subject.name) if self.requires_typed_name else ""

    @property
    def _name_hidden(self) -> bool:
        """What is shown of the name (secrets and control characters removed) is not the name
        itself, so the operator cannot type the name: the id is accepted too."""
        return self.confirm_text != self.subject.name

    @property
    def prompt(self) -> str:
        if not self.requires_typed_name:
            return f"{self.description}?"
        if self._name_hidden:
            return (f"Type the workspace name as shown ({self.confirm_text}), or its id "
                    f"({_shown(self.subject.id)}), to confirm the delete")
        return f"Type the workspace name ({self.confirm_text}) to confirm the delete"

    def confirmation_matches(self, typed: str | None) -> bool:
        if not self.requires_typed_name:
            return True
        accepted = {self.subject.name, self.confirm_text}
        if self._name_hidden:
            accepted |= {self.subject.id, _shown(self.subject.id)}
        return (typed or "").strip() in accepted


def _shown(value: str) -> str:
    """``value`` as the screens show it (``screens.literal.plain``): no secrets, one line."""
    return one_line(scrub(value))


@dataclass(frozen=True)
class ActionOutcome:
    status: OutcomeStatus
    message: str
    action: str
    target_id: str
    idempotency_key: str | None = None
    request_id: str | None = None
    result: m.ActionResult | None = None
    error: BaseException | None = None  # the typed API error, kept for callers
    resynced: bool = False

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"


def _now() -> datetime:
    return datetime.now(UTC)


class ActionService:
    """Plans and runs guarded actions for one ``Services`` (profile, cache, client)."""

    def __init__(
        self, services: Any, *, clock: Callable[[], datetime] = _now, retries: int = 2,
        retry_wait: float = 0.5,
    ) -> None:
        self.services = services
        self.engine = services.engine
        self.clock = clock
        self.retries = retries
        self.retry_wait = retry_wait
        self._inflight: InFlight[ActionOutcome] = InFlight()

    # ------------------------------------------------------------------ who, what, may I

    @property
    def read_only(self) -> bool:
        return bool(getattr(self.services, "read_only", False))

    @property
    def profile(self) -> str:
        return str(getattr(self.services, "profile", "") or "")

    def me(self) -> m.Me:
        """Who the token is, as recorded by the last sync."""
        raw = get_meta(self.engine, "me")
        if not raw:
            raise ActionError(
                "the cache does not know who the token is yet: run `ism-tui sync` first"
            )
        return m.Me.model_validate_json(raw)

    def blockers(self, subject: Subject) -> list[Any]:
        """The subject's triage blockers (from the cache)."""
        found = list(blockers_for(self.engine, subject.kind, subject.id))
        if subject.kind == "workspace":  # retry only once the cached readiness is clear
            return retry_blockers(self.engine, subject.row, found)
        return found

    def _decide(self, action: str, subject: Subject, actor: m.Me,
                blockers: list[Any]) -> Decision:
        return decide(action, actor, subject.row, blockers, self.read_only,
                      customer_admins=subject.customer_admins)

    def plan(self, action: str, target: str) -> ActionPlan:
        """Resolve ``target`` (id, workspace name, email; build id for cancel) and decide.

        Raises ``ActionError`` for an unknown action and ``TargetError`` for a target that is
        not in the cache or is ambiguous."""
        if action not in ACTIONS:
            raise ActionError(f"unknown action {action!r}: choose one of {', '.join(ACTIONS)}")
        subject = resolve(self.engine, action, target)
        return self._plan(action, subject)

    def plan_for(self, action: str, subject_id: str) -> ActionPlan:
        """Plan on a subject by id (what a screen holds for the selected row)."""
        if action not in ACTIONS:
            raise ActionError(f"unknown action {action!r}: choose one of {', '.join(ACTIONS)}")
        subject = load_subject(self.engine, ACTION_KIND[action], subject_id)
        if subject is None:
            raise TargetError(f"{subject_id} is not in the cache: run `ism-tui sync`")
        return self._plan(action, subject)

    def _plan(self, action: str, subject: Subject) -> ActionPlan:
        actor = self.me()
        blockers = self.blockers(subject)
        return ActionPlan(
            action=action,  # type: ignore[arg-type]  # checked against ACTIONS
            subject=subject, actor=actor,
            decision=self._decide(action, subject, actor, blockers),
            description=messages.describe(action, subject), blockers=tuple(blockers),
        )

    def available(self, kind: Literal["workspace", "invite"],
                  subject_id: str) -> list[tuple[ActionName, Decision]]:
        """Every action on a subject with its decision: the menu a screen shows (refused ones
        disabled, with the reason)."""
        subject = load_subject(self.engine, kind, subject_id)
        if subject is None:
            return []
        return available_actions(self.me(), subject.row, self.blockers(subject), self.read_only,
                                 customer_admins=subject.customer_admins)

    # ------------------------------------------------------------------ audit

    def _audit(self, plan: ActionPlan, result: str, reason: str,
               request_id: str | None = None, key: bool = True) -> None:
        record(self.engine, AuditEntry(
            action=plan.action, result=result,  # type: ignore[arg-type]
            actor=plan.actor.email, actor_role=plan.actor.role, target_type=plan.subject.kind,
            target_id=plan.subject.id, target_name=plan.subject.name,
            customer_id=plan.subject.customer_id, reason=reason, request_id=request_id,
            idempotency_key=plan.idempotency_key if key else None, profile=self.profile,
        ), now=self.clock())

    def _outcome(self, plan: ActionPlan, status: OutcomeStatus, message: str,
                 **kw: Any) -> ActionOutcome:
        return ActionOutcome(status, message, plan.action, plan.subject.id,
                             idempotency_key=plan.idempotency_key, **kw)

    def refuse(self, plan: ActionPlan) -> ActionOutcome:
        """Record a refused attempt (the policy said no) and return it."""
        self._audit(plan, "refused", plan.reason, key=False)
        return self._outcome(plan, "refused", f"Refused: {plan.reason}")

    def cancel(self, plan: ActionPlan, reason: str = "cancelled at the confirmation") -> \
            ActionOutcome:
        """Record that the user declined at the confirmation."""
        self._audit(plan, "cancelled", reason, key=False)
        return self._outcome(plan, "cancelled", f"Cancelled: {plan.description}")

    # ------------------------------------------------------------------ execute

    async def execute(
        self, plan: ActionPlan, confirmed_by: str, *, typed_name: str | None = None,
        progress: Progress | None = None,
    ) -> ActionOutcome:
        """Run a confirmed plan once (see the module docstring). Never raises for API errors:
        they come back as a ``failed`` outcome with the typed error in ``.error``."""
        done = self._inflight.outcome(plan.idempotency_key)
        if done is not None:
            return done
        outcome, _first = await self._inflight.run(
            plan.idempotency_key, plan.action, plan.subject.id,
            lambda: self._execute(plan, confirmed_by, typed_name, progress or _quiet),
        )
        if outcome.status == "failed" and _retryable(outcome.error):
            self._inflight.forget(plan.idempotency_key)  # same key may be sent again
        return outcome

    async def _execute(self, plan: ActionPlan, confirmed_by: str, typed_name: str | None,
                       progress: Progress) -> ActionOutcome:
        progress("checking the current state")
        fresh = load_subject(self.engine, plan.subject.kind, plan.subject.id) or plan.subject
        blockers = self.blockers(fresh)
        plan.decision = self._decide(plan.action, fresh, plan.actor, blockers)
        plan.subject, plan.blockers = fresh, tuple(blockers)
        if not plan.allowed:
            return self.refuse(plan)
        if plan.requires_typed_name and confirmed_by != CONFIRMED_BY_FLAG \
                and not plan.confirmation_matches(typed_name):
            return self.cancel(plan, "the typed name did not match the workspace name")
        self._audit(plan, "confirmed", f"confirmed by {confirmed_by}: {plan.description}")
        try:
            result = await self._send_with_retries(plan, progress)
            check_answer(plan, result)
        except Exception as exc:  # typed API errors, transport failures, a wrong answer
            message = messages.failure(plan.action, plan.subject, exc)
            self._audit(plan, "failed", message)
            progress(message)
            return self._outcome(plan, "failed", message, error=exc)
        message = messages.success(plan.action, plan.subject, result)
        self._audit(plan, "succeeded", message, request_id=result.request_id)
        progress("refreshing the cache")
        resynced = await self._after(plan, result)
        progress(message)
        return self._outcome(plan, "succeeded", message, request_id=result.request_id,
                             result=result, resynced=resynced)

    async def _send_with_retries(self, plan: ActionPlan, progress: Progress) -> m.ActionResult:
        attempt = 0
        while True:
            attempt += 1
            progress("sending" if attempt == 1 else f"sending again (attempt {attempt})")
            try:
                return await self._send(plan)
            except Exception as exc:
                if not _retryable(exc) or attempt > self.retries:
                    raise
                wait = getattr(exc, "retry_after", None) or self.retry_wait * attempt
                await asyncio.sleep(min(float(wait), 5.0))

    async def _send(self, plan: ActionPlan) -> m.ActionResult:
        key, subject = plan.idempotency_key, plan.subject
        client: Any
        async with self.services.client() as client:
            if plan.action in ("start", "stop", "delete"):
                return cast(m.ActionResult, await client.create_build(
                    subject.id, plan.action, idempotency_key=key))
            if plan.action == "cancel":
                if subject.build_id is None:
                    raise ActionError(f"workspace {subject.name} has no build to cancel")
                return cast(m.ActionResult,
                            await client.cancel_build(subject.build_id, idempotency_key=key))
            if plan.action == "retry":
                return cast(m.ActionResult,
                            await client.retry_workspace(subject.id, idempotency_key=key))
            return cast(m.ActionResult,
                        await client.reissue_invite(subject.id, idempotency_key=key))

    async def _after(self, plan: ActionPlan, result: m.ActionResult) -> bool:
        """Store what the Console returned, re-sync the touched objects, recompute blockers.
        A failure here never turns a done action into a failed one: the cache is only stale."""
        ok = True
        try:
            await asyncio.to_thread(_store_result, self.engine, plan, result)
        except Exception as exc:  # e.g. an integer the cache cannot hold: the re-sync names it
            log.warning("the answer to %s on %s was not stored: %s", plan.action,
                        plan.subject.id, exc)
            ok = False
        touched = [("invites", plan.subject.id)] if plan.subject.kind == "invite" else \
            [("workspaces", plan.subject.id)]
        if result.invite is not None and result.invite.id != plan.subject.id:
            touched.append(("invites", result.invite.id))
        try:
            from ism_tui.sync import sync_object

            for resource, object_id in touched:
                await sync_object(self.services, resource, object_id)
        except Exception:  # offline, or not found (a deleted workspace)
            ok = False
        try:
            await asyncio.to_thread(recompute_blockers, self.engine)
        except Exception:
            ok = False
        return ok


def check_answer(plan: ActionPlan, result: m.ActionResult) -> None:
    """``WrongObject`` unless what the Console returned is about the plan's subject: the
    workspace (its build's workspace, the cancelled build, the transition asked for), or for a
    reissue an invite to the same email of the same customer. An answer naming nothing cannot
    be checked, so it is not reported as done either."""
    from ism_tui.api.errors import WrongObject, same_object
    from ism_tui.text import clean

    subject = plan.subject
    if plan.action == "reissue_invite":
        invite = result.invite
        if invite is None:
            raise WrongObject(f"the Console's answer to reissuing invite {subject.id!r} holds "
                              "no invite: it cannot be checked; check the invite in the Console")
        email = str(subject.row.get("email") or "")
        # the cached email is cleaned text (``storage.rows``): compare like with like
        same_object("invite to", email.lower(), clean(invite.email).lower(),
                    what="a new invite to")
        same_object("customer", subject.customer_id or "", invite.customer_id,
                    what=f"a new invite to {email} of customer")
        return
    if result.build is None and result.workspace is None:
        raise WrongObject(f"the Console's answer to {plan.action} on workspace {subject.id!r} "
                          "names no build or workspace: it cannot be checked; check the "
                          "workspace in the Console")
    if result.workspace is not None:
        same_object("workspace", subject.id, result.workspace.id)
    build = result.build
    if build is not None:
        same_object("workspace", subject.id, build.workspace_id, what="a build of workspace")
        if plan.action == "cancel":
            same_object("build", subject.build_id or "", build.id, what="the cancel of build")
        elif plan.action in ("start", "stop", "delete"):
            same_object("transition", plan.action, build.transition,
                        what=f"a build of workspace {subject.id!r} with transition")


# Workspace status while a build of (transition, job status) is under way.
_BUILD_STATUS = {
    ("start", "pending"): "starting", ("start", "running"): "starting",
    ("stop", "pending"): "stopping", ("stop", "running"): "stopping",
    ("delete", "pending"): "deleting", ("delete", "running"): "deleting",
}


def _store_result(engine: Any, plan: ActionPlan, result: m.ActionResult) -> None:
    """Write the returned objects so the cache reflects the action even before (or without) a
    re-sync: a second press must not see the old state and be allowed again."""
    from sqlalchemy import text

    from storage.rows import invite_row, iso, workspace_row
    from storage.upsert import upsert_rows

    with engine.begin() as conn:
        if result.workspace is not None:
            upsert_rows(conn, "workspaces",
                        [workspace_row(result.workspace)])
        elif result.build is not None:
            b = result.build
            status = "canceling" if b.job_status == "canceling" else _BUILD_STATUS.get(
                (b.transition, b.job_status))
            conn.execute(text(
                "UPDATE workspaces SET build_id=:id, build_number=:n, build_transition=:t, "
                "build_job_status=:j, build_error=NULL, build_failing_stage=NULL, "
                "build_created_at=:c, build_started_at=:s, build_completed_at=:d, "
                "status=coalesce(:status, status) WHERE id=:w"),
                {"id": b.id, "n": b.build_number, "t": b.transition, "j": b.job_status,
                 "c": iso(b.created_at), "s": iso(b.started_at), "d": iso(b.completed_at),
                 "status": status, "w": b.workspace_id})
        if result.invite is not None:
            upsert_rows(conn, "invites", [invite_row(result.invite)])
            if plan.subject.kind == "invite" and result.invite.id != plan.subject.id:
                conn.execute(text(
                    "UPDATE invites SET state='revoked', replaced_by=:new WHERE id=:old"),
                    {"new": result.invite.id, "old": plan.subject.id})


def _retryable(exc: BaseException | None) -> bool:
    if exc is None:
        return False
    return any(c.__name__ in RETRYABLE for c in type(exc).__mro__)


def _quiet(_message: str) -> None:
    return None

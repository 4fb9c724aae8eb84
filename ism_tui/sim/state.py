"""The simulator's mutable state: auth, role scoping, idempotent actions and build state machines.

Time comes from an injectable ``SimClock``; builds advance lazily (``tick``) on every request,
each transition stamped with the instant it was due, so a test can ``advance`` the clock instead
of sleeping. Timings: a build is ``pending`` for ``PENDING_SECONDS``, then ``running`` until
``BUILD_SECONDS`` after it was requested; a cancel takes ``CANCEL_SECONDS``.

Every method is called with ``lock`` held by the server (requests) or the test handle.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES, CANCELABLE_JOB_STATUSES
from ism_tui.sim import demo_logs
from ism_tui.sim.store import CUSTOMER_FIELD, SimClock, Store, format_ts
from ism_tui.sim.world import World

Obj = dict[str, Any]

PENDING_SECONDS = 1.0
BUILD_SECONDS = 3.0
CANCEL_SECONDS = 1.0
INVITE_DAYS = 7
ANALYTICS_DENIED = "Analytics is for customer admins and platform operators"
ACTIONS_DENIED = (
    "Workspace and invite actions are for customer admins and platform operators; "
    "ask a customer admin of your company"
)
_DEFAULT_FAILURE = (
    "volume attach", 'Timed out after 10m0s waiting for volume "pvc-home" to attach'
)
_STATUS_DURING = {"start": "starting", "stop": "stopping", "delete": "deleting"}
_STATUS_AFTER = {"start": "running", "stop": "stopped", "delete": "deleted"}
_SCRIPTS = {"start": demo_logs.START_OK, "stop": demo_logs.STOP_OK, "delete": demo_logs.DELETE_OK}


class SimError(Exception):
    """An API error: status code and the ``Error`` body's fields."""

    def __init__(
        self,
        status: int,
        message: str,
        detail: str = "",
        validations: list[Obj] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail
        self.validations = validations or []
        self.headers = headers or {}

    def body(self) -> Obj:
        return {"message": self.message, "detail": self.detail, "validations": self.validations}


def invalid(field_name: str, detail: str) -> SimError:
    return SimError(422, f"invalid {field_name}", detail, [{"field": field_name, "detail": detail}])


@dataclass
class _Job:
    """A build the simulator drives: its due instants and log lines still to be written."""

    build_id: str
    workspace_id: str
    run_at: datetime | None
    end_at: datetime
    fails: bool
    stage: str = ""
    error: str = ""
    lines: list[tuple[datetime, str, str, str]] = field(default_factory=list)
    canceling: bool = False


class SimState:
    """A World being served: reads are scoped by role, writes follow the contract's rules."""

    def __init__(self, world: World, clock: SimClock | None = None, seed: int = 7) -> None:
        self.world = world
        self.clock = clock or SimClock()
        self.store = Store(world)
        self.lock = threading.RLock()
        self.revoked: set[str] = set()
        self._rng = random.Random(seed)
        self._jobs: dict[str, _Job] = {}
        self._fails = set(world.cases.get("fails_next_build", []))
        # (user id, key) -> (request fingerprint, status, serialized first response)
        self._idempotency: dict[tuple[str, str], tuple[str, int, bytes]] = {}
        self._next: dict[str, tuple[str, int, int]] = {
            name: _id_counter(ids, prefix)
            for name, ids, prefix in (
                ("builds", world.builds, "bld-"),
                ("invites", world.invites, "inv-"),
                ("audit", world.audit, "aud-"),
            )
        }
        self._next_log = 1 + max(
            (line["id"] for lines in world.build_logs.values() for line in lines), default=0
        )

    # ------------------------------------------------------------------ time, ids
    def now(self) -> datetime:
        return self.clock.now()

    def _new_id(self, name: str) -> str:
        prefix, width, number = self._next[name]
        self._next[name] = (prefix, width, number + 1)
        return f"{prefix}{number:0{width}d}"

    def request_id(self) -> str:
        return f"req-{self._rng.getrandbits(48):012x}"

    # ------------------------------------------------------------------ auth and scope
    def authenticate(self, authorization: str | None) -> Obj:
        if not authorization:
            raise SimError(401, "missing bearer token", "send Authorization: Bearer <token>")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise SimError(401, "malformed Authorization header",
                           "use: Authorization: Bearer <token>")
        if token in self.revoked:
            raise SimError(401, "token revoked", "ask for a new API token")
        me = self.world.tokens.get(token)
        if me is None:
            raise SimError(401, "invalid token", "the token is unknown to this Console")
        return me

    @staticmethod
    def scope(me: Obj) -> str | None:
        """The customer a token is confined to (None: platform operator, all customers)."""
        return None if me["role"] == "platform_operator" else me["customer_id"]

    def visible(self, me: Obj, resource: str, obj_id: str) -> Obj:
        """A live object the token may see, else 404 (other customers' objects do not exist)."""
        obj = self.store.get(resource, obj_id)
        scope = self.scope(me)
        field_name = CUSTOMER_FIELD.get(resource)
        if obj is None or (scope is not None and field_name and obj.get(field_name) != scope):
            raise SimError(404, f"{resource.rstrip('s')} {obj_id} not found")
        return obj

    def visible_build(self, me: Obj, build_id: str) -> Obj:
        build = self.world.builds.get(build_id)
        scope = self.scope(me)
        if build is not None and scope is not None:
            owner = self.store.customer_of("workspaces", build["workspace_id"])
            if owner != scope:
                build = None
        if build is None:
            raise SimError(404, f"workspace build {build_id} not found")
        return build

    def deny_analytics(self, me: Obj, resource: str) -> SimError:
        """The 403 a member gets on analytics, recorded in the audit trail."""
        self.audit(me, "analytics.view", "analytics", resource, me.get("customer_id"),
                   result="denied", detail=f"{me['role']} cannot open {resource}")
        return SimError(403, ANALYTICS_DENIED, "ask a customer admin for a usage review")

    def require_actor(self, me: Obj) -> None:
        if me["role"] == "customer_member":
            raise SimError(403, ACTIONS_DENIED)

    # ------------------------------------------------------------------ idempotency
    def replay(self, me: Obj, key: str, fingerprint: str) -> tuple[int, bytes] | None:
        """The stored first response for this key, a 409 for a different request, or None."""
        stored = self._idempotency.get((me["user_id"], key))
        if stored is None:
            return None
        if stored[0] != fingerprint:
            raise SimError(409, "Idempotency-Key reused for a different request",
                           "use a new Idempotency-Key for each distinct action")
        return stored[1], stored[2]

    def remember(self, me: Obj, key: str, fingerprint: str, status: int, body: bytes) -> None:
        self._idempotency[(me["user_id"], key)] = (fingerprint, status, body)

    # ------------------------------------------------------------------ audit
    def audit(self, me: Obj, action: str, target_type: str, target_id: str,
              customer_id: str | None, *, result: str = "ok", detail: str = "",
              request_id: str | None = None, at: datetime | None = None) -> Obj:
        stamp = format_ts(at or self.now())
        event = {
            "id": self._new_id("audit"), "updated_at": stamp, "deleted": False, "time": stamp,
            "actor_user_id": me["user_id"], "actor_email": me["email"],
            "customer_id": customer_id, "action": action, "target_type": target_type,
            "target_id": target_id, "result": result, "detail": detail,
            "request_id": request_id,
        }
        self.store.changed("audit", event)
        return event

    # ------------------------------------------------------------------ test and CLI helpers
    def patch(self, resource: str, obj_id: str, changes: Obj) -> Obj:
        """Change an object as Console would (bumps ``updated_at``): e.g. approve billing."""
        obj = self.store.get(resource, obj_id)
        if obj is None:
            raise KeyError(f"{resource}/{obj_id} does not exist")
        for name, value in changes.items():
            if isinstance(value, dict) and isinstance(obj.get(name), dict):
                obj[name].update(value)
            else:
                obj[name] = value
        obj["updated_at"] = format_ts(self.now())
        self.store.changed(resource, obj)
        return obj

    # ------------------------------------------------------------------ state machines
    def tick(self) -> None:
        """Apply every build transition and log line that is due by now."""
        now = self.now()
        for job in list(self._jobs.values()):
            self._advance(job, now)

    def _advance(self, job: _Job, now: datetime) -> None:
        build = self.world.builds[job.build_id]
        while job.lines and job.lines[0][0] <= now:
            at, stage, level, text = job.lines.pop(0)
            self._log(build["id"], at, stage, level, text)
        if job.run_at is not None and job.run_at <= now and build["job_status"] == "pending":
            build["job_status"] = "running"
            build["started_at"] = format_ts(job.run_at)
            self._touch_workspace(job.workspace_id, job.run_at)
        if job.end_at > now:
            return
        del self._jobs[job.build_id]
        build["completed_at"] = format_ts(job.end_at)
        if job.canceling:
            build["job_status"] = "canceled"
            self._touch_workspace(job.workspace_id, job.end_at, status="canceled")
        elif job.fails:
            build.update(job_status="failed", failing_stage=job.stage, error=job.error)
            self._touch_workspace(job.workspace_id, job.end_at, status="failed")
        elif build["transition"] == "delete":
            build["job_status"] = "succeeded"
            if job.workspace_id in self.world.workspaces:
                self.store.delete("workspaces", job.workspace_id, format_ts(job.end_at))
        else:
            build["job_status"] = "succeeded"
            self._touch_workspace(job.workspace_id, job.end_at,
                                  status=_STATUS_AFTER[build["transition"]])

    def _touch_workspace(self, ws_id: str, at: datetime, status: str | None = None) -> None:
        ws = self.world.workspaces.get(ws_id)
        if ws is None:
            return
        if status is not None:
            ws["status"] = status
            if status == "running":
                ws["last_used_at"] = format_ts(at)
        ws["updated_at"] = format_ts(at)
        self.store.changed("workspaces", ws)

    def _log(self, build_id: str, at: datetime, stage: str, level: str, text: str) -> None:
        line = {"id": self._next_log, "build_id": build_id, "created_at": format_ts(at),
                "stage": stage, "level": level, "output": text}
        self._next_log += 1
        self.world.build_logs.setdefault(build_id, []).append(line)

    def logs(self, build_id: str, after: int | None, limit: int) -> tuple[list[Obj], str | None]:
        lines = self.world.build_logs.get(build_id, [])
        start = 0
        if after is not None:
            lo, hi = 0, len(lines)
            while lo < hi:  # bisect on the line ids
                mid = (lo + hi) // 2
                if lines[mid]["id"] <= after:
                    lo = mid + 1
                else:
                    hi = mid
            start = lo
        page = lines[start : start + limit]
        more = start + limit < len(lines)
        return page, (str(page[-1]["id"]) if page and more else None)

    # ------------------------------------------------------------------ actions
    def transition(self, me: Obj, ws: Obj, transition: str, request_id: str) -> Obj:
        """``POST /workspaces/{id}/builds``: start, stop or delete."""
        latest = ws.get("latest_build")
        status = ws["status"]
        if latest is not None and latest["job_status"] in ACTIVE_JOB_STATUSES:
            word = "canceling" if latest["job_status"] == "canceling" else "running"
            if transition == "delete":
                raise SimError(409, f"cannot delete while a build is {word}",
                               f"build {latest['id']} is {latest['job_status']}; cancel it first")
            raise SimError(409, f"cannot {transition}: workspace is {status}",
                           f"build {latest['id']} is {latest['job_status']}")
        if transition == "start" and status not in ("stopped", "failed", "canceled"):
            hint = "use retry for a blocked create" if status == "pending" else ""
            raise SimError(409, f"cannot start: workspace is {status}", hint)
        if transition == "stop" and status != "running":
            raise SimError(409, f"cannot stop: workspace is {status}")
        if transition == "delete" and status == "deleted":
            raise SimError(409, "cannot delete: workspace is deleted")
        return self._new_build(me, ws, transition, request_id, f"workspace.{transition}")

    def retry(self, me: Obj, ws: Obj, request_id: str) -> Obj:
        """``POST /workspaces/{id}/retry``: a failed create, or a blocked one now unblocked."""
        latest = ws.get("latest_build")
        failed_create = (ws["status"] == "failed" and latest is not None
                         and latest["transition"] == "start")
        blocked_create = ws["status"] == "pending" and latest is None
        if not (failed_create or blocked_create):
            raise SimError(409, f"cannot retry: workspace is {ws['status']}",
                           "retry applies to a failed or blocked create only")
        blockers = self.evaluate_blockers(ws)
        if blockers != ws.get("create_blockers"):
            ws["create_blockers"] = blockers
            ws["updated_at"] = format_ts(self.now())
            self.store.changed("workspaces", ws)
        if blockers:
            codes = ", ".join(b["code"] for b in blockers)
            raise SimError(409, f"cannot retry: blocker {codes} is unresolved",
                           blockers[0]["message"])
        return self._new_build(me, ws, "start", request_id, "workspace.retry")

    def cancel(self, me: Obj, build: Obj, request_id: str) -> Obj:
        """``POST /workspacebuilds/{id}/cancel``: only a pending or running build."""
        if build["job_status"] not in CANCELABLE_JOB_STATUSES:
            raise SimError(409, f"cannot cancel: build is {build['job_status']}")
        now = self.now()
        job = self._jobs.get(build["id"])
        if job is None:  # a build the scenario left running: the simulator drives it from now
            job = _Job(build["id"], build["workspace_id"], None, now, fails=False)
            self._jobs[build["id"]] = job
        job.canceling, job.lines, job.end_at = True, [], now + timedelta(seconds=CANCEL_SECONDS)
        job.run_at = None
        build["job_status"] = "canceling"
        self._log(build["id"], now, "init", "warn", f"Cancel requested by {me['email']}")
        job.lines.append((job.end_at, "init", "warn", f"Build #{build['build_number']} canceled"))
        self._touch_workspace(build["workspace_id"], now, status="canceling")
        ws = self.world.workspaces[build["workspace_id"]]
        self.audit(me, "workspace.cancel", "workspace", ws["id"], ws["customer_id"],
                   detail=f"build #{build['build_number']}", request_id=request_id, at=now)
        return {"request_id": request_id, "build": build, "workspace": ws}

    def reissue(self, me: Obj, invite: Obj, request_id: str) -> Obj:
        """``POST /invites/{id}/reissue``: revoke the old invite, issue a fresh pending one."""
        if invite["state"] not in ("consumed", "expired", "revoked"):
            raise SimError(409, f"cannot reissue: invite is {invite['state']}",
                           "only consumed, expired or revoked invites are reissued")
        if invite.get("replaced_by"):
            raise SimError(409, f"cannot reissue: invite was already replaced by "
                           f"{invite['replaced_by']}", "reissue the newest invite instead")
        now = self.now()
        stamp = format_ts(now)
        new = {
            "id": self._new_id("invites"), "updated_at": stamp, "deleted": False,
            "email": invite["email"], "customer_id": invite["customer_id"],
            "role": invite["role"], "state": "pending", "created_at": stamp,
            "expires_at": format_ts(now + timedelta(days=INVITE_DAYS)),
            "issued_by": me["email"], "accepted_at": None, "consumed_at": None,
            "replaced_by": None,
        }
        self.store.changed("invites", new)
        invite.update(state="revoked", replaced_by=new["id"], updated_at=stamp)
        self.store.changed("invites", invite)
        self.audit(me, "invite.reissue", "invite", invite["id"], invite["customer_id"],
                   detail=f"replaced by {new['id']}", request_id=request_id, at=now)
        return {"request_id": request_id, "invite": new}

    def _new_build(self, me: Obj, ws: Obj, transition: str, request_id: str, action: str) -> Obj:
        now = self.now()
        previous = ws.get("latest_build")
        number = (previous["build_number"] if previous else 0) + 1
        fails = transition == "start" and ws["id"] in self._fails
        stage, error = _DEFAULT_FAILURE
        if fails and previous and previous.get("job_status") == "failed":
            stage, error = previous.get("failing_stage") or stage, previous.get("error") or error
        build = {
            "id": self._new_id("builds"), "workspace_id": ws["id"], "build_number": number,
            "transition": transition, "job_status": "pending", "error": None,
            "failing_stage": None, "created_at": format_ts(now), "started_at": None,
            "completed_at": None, "initiator_email": me["email"],
        }
        self.world.builds[build["id"]] = build
        run_at = now + timedelta(seconds=PENDING_SECONDS)
        end_at = now + timedelta(seconds=BUILD_SECONDS)
        job = _Job(build["id"], ws["id"], run_at, end_at, fails, stage, error)
        job.lines = self._script(ws, build, now, run_at, end_at, fails, error)
        self._jobs[build["id"]] = job
        ws["latest_build"] = build
        ws["create_blockers"] = []
        ws["status"] = _STATUS_DURING[transition]
        ws["updated_at"] = format_ts(now)
        self.store.changed("workspaces", ws)
        self.audit(me, action, "workspace", ws["id"], ws["customer_id"],
                   detail=f"build #{number} ({transition})", request_id=request_id, at=now)
        self._advance(job, now)
        return {"request_id": request_id, "build": build, "workspace": ws}

    def _script(self, ws: Obj, build: Obj, now: datetime, run_at: datetime, end_at: datetime,
                fails: bool, error: str) -> list[tuple[datetime, str, str, str]]:
        script = demo_logs.VOLUME_ATTACH_FAILURE if fails else _SCRIPTS[build["transition"]]
        alias = next((t for t in self.world.templates.values()
                      if t.get("alias") == ws.get("template_alias")), {})
        values = {"n": build["build_number"], "transition": build["transition"],
                  "initiator": build["initiator_email"] or "Console", "error": error,
                  "ws": ws.get("name", ws["id"]), "template": alias.get("template_name", "?"),
                  "version": alias.get("template_version", "?")}
        last = max(offset for offset, *_ in script) or 1
        span = (end_at - run_at).total_seconds()
        lines = []
        for offset, stage, level, text in script:
            at = now if offset == 0 else run_at + timedelta(seconds=span * offset / last)
            lines.append((min(at, end_at), stage, level, text.format(**values)))
        return lines

    # ------------------------------------------------------------------ create blockers
    def evaluate_blockers(self, ws: Obj) -> list[Obj]:
        """A create's blockers from the underlying state; resolved ones disappear."""
        found: list[tuple[str, str]] = []
        customer = self.world.customers.get(ws["customer_id"]) or {}
        name = customer.get("name", ws["customer_id"])
        billing = customer.get("billing") or {}
        if billing.get("approval", "approved") != "approved":
            found.append(("billing_approval_missing",
                          f"Billing approval for {name} is {billing.get('approval')}."))
        if billing.get("prepaid_seconds_left", 1) <= 0:
            found.append(("prepaid_balance_missing",
                          f"{name} has no prepaid workspace-time balance left."))
        if billing.get("ai_credit_left", 1) <= 0:
            found.append(("ai_credit_missing", f"{name} has no managed-AI credit left."))
        target = self.world.targets.get(ws.get("target_id", ""))
        if target is None or target.get("state") == "unavailable":
            found.append(("target_unavailable",
                          f"Workspace target {ws.get('target_id')} is unavailable."))
        sso = customer.get("sso") or {}
        if sso.get("state") == "incomplete":
            found.append(("sso_incomplete", f"SSO setup for {name} is incomplete."))
        alias = next((t for t in self.world.templates.values()
                      if t.get("alias") == ws.get("template_alias")), None)
        if alias is None or alias.get("state") != "available":
            found.append(("template_alias_unavailable",
                          f"Template alias {ws.get('template_alias')} is unavailable."))
        owner = self.world.users.get(ws.get("owner_user_id", "")) or {}
        if (owner.get("provisioning") or {}).get("state") == "failed":
            found.append(("user_provisioning_failed",
                          f"Workspace user provisioning failed for {owner.get('email')}."))
        known = {b["code"]: b for b in ws.get("create_blockers") or []}
        stamp = format_ts(self.now())
        return [known.get(code) or {"code": code, "message": message, "since": stamp}
                for code, message in found]


def _id_counter(objs: dict[str, Obj], prefix: str) -> tuple[str, int, int]:
    """(prefix, zero-pad width, next number) continuing a collection's id sequence."""
    width, highest = 6, 0
    for obj_id in objs:
        if obj_id.startswith(prefix) and obj_id[len(prefix):].isdigit():
            width = max(width, len(obj_id) - len(prefix))
            highest = max(highest, int(obj_id[len(prefix):]))
    return prefix, width, highest + 1

"""Primitives the demo scenario is assembled from: customers, users, invites, workspaces, builds.

Objects are wire dicts from the start. Cross references (owner, customer, replacing invite,
build -> workspace) are kept as private ``_``-prefixed keys holding the other dict, because ids
are given only at the end (``assign_ids``): each collection is sorted by creation time and
numbered, so ids sort in creation order as ``world.py`` requires. ``strip_private`` then drops
every private key.
"""

from __future__ import annotations

import random
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from ism_tui.sim import demo_catalog as cat
from ism_tui.sim import demo_logs

Obj = dict[str, Any]

# final build (transition, job status) -> workspace status
_STATUS: dict[tuple[str, str], str] = {
    ("start", "succeeded"): "running",
    ("start", "running"): "starting",
    ("start", "pending"): "starting",
    ("start", "failed"): "failed",
    ("start", "canceled"): "canceled",
    ("stop", "succeeded"): "stopped",
    ("stop", "running"): "stopping",
    ("delete", "succeeded"): "deleted",
}
_DURATION = {"start": 45, "stop": 15, "delete": 20}
_OK_SCRIPTS = {
    "start": demo_logs.START_OK, "stop": demo_logs.STOP_OK, "delete": demo_logs.DELETE_OK
}


def iso(dt: datetime) -> str:
    """The wire form of an instant: ``2026-11-24T09:30:00Z``."""
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def ascii_slug(text: str) -> str:
    """``"Zoë O'Brien"`` -> ``"zoe obrien"``: accents and punctuation dropped, lower case."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch in " -.")


class DemoBuilder:
    """Accumulates the demo's objects; see the module docstring for how ids are given."""

    def __init__(self, now: datetime, seed: int) -> None:
        self.now = now
        self.rng = random.Random(seed)
        self.today = now.date()
        self.first_day = self.today - timedelta(days=89)  # 90 days of usage, today included
        self.customers: list[Obj] = []
        self.by_key: dict[str, Obj] = {}
        self.users: list[Obj] = []
        self.invites: list[Obj] = []
        self.targets: dict[str, Obj] = {}
        self.aliases: dict[str, Obj] = {}
        self.workspaces: list[Obj] = []
        self.builds: list[Obj] = []
        self.build_logs: dict[str, list[Obj]] = {}
        self.usage: list[Obj] = []
        self.periods: list[Obj] = []
        self.audit: list[Obj] = []
        self.tokens: dict[str, Obj] = {}  # token -> user dict
        self.cases: dict[str, list[Obj]] = {}
        # analytics views to audit once usage exists: actor, customer, from, to, time, result
        self.views: list[Obj] = []
        self.usage_gaps: dict[str, set[date]] = {}  # customer key -> days without usage rows
        self.period_overrides: dict[tuple[str, date], tuple[str, datetime]] = {}
        pairs = [(f, last) for f in cat.FIRST_NAMES for last in cat.LAST_NAMES]
        self.rng.shuffle(pairs)
        self._people = iter(pairs)
        self._taken_names: set[str] = set()

    # ------------------------------------------------------------------ time
    def ago(self, days: float = 0, hours: float = 0, minutes: float = 0) -> datetime:
        return self.now - timedelta(days=days, hours=hours, minutes=minutes)

    def at(self, day: date, hour: int, minute: int = 0) -> datetime:
        return datetime.combine(day, time(hour, minute), UTC)

    def between(self, start: datetime, end: datetime) -> datetime:
        """A whole-second instant in [start, end]."""
        span = max(int((end - start).total_seconds()), 0)
        return start + timedelta(seconds=self.rng.randint(0, span))

    def last_reconciled_day(self) -> date:
        """The newest day whose provider data is in (at 04:00 the next day, an hour ago)."""
        day = self.today - timedelta(days=1)
        return day if self.at(self.today, 4) <= self.ago(hours=1) else day - timedelta(days=1)

    def last_nightly(self) -> datetime:
        """The last 04:00 run that recomputes balances."""
        run = self.at(self.today, 4)
        return run if run <= self.now else run - timedelta(days=1)

    def case(self, name: str, obj: Obj) -> None:
        self.cases.setdefault(name, []).append(obj)

    # ------------------------------------------------------------------ catalogue
    def add_targets_and_aliases(self) -> None:
        created = iso(self.ago(days=700))
        for i, t in enumerate(cat.DEMO_TARGETS, 1):
            since = iso(self.ago(days=t.state_since_days)) if t.state_since_days else None
            self.targets[t.name] = {
                "id": f"tgt-{i:03d}", "updated_at": since or created, "deleted": False,
                "name": t.name, "region": t.region, "state": t.state,
                "state_reason": t.state_reason, "state_since": since,
                "_cost": t.cost_per_hour,
            }
        for i, a in enumerate(cat.DEMO_ALIASES, 1):
            since = iso(self.ago(days=a.state_since_days)) if a.state_since_days else None
            self.aliases[a.alias] = {
                "id": f"tpl-{i:03d}", "updated_at": since or created, "deleted": False,
                "alias": a.alias, "template_name": a.template_name,
                "template_version": a.template_version, "state": a.state,
                "state_reason": a.state_reason, "state_since": since,
                "_spec": a,
            }

    # ------------------------------------------------------------------ customers, users
    def add_customer(
        self, key: str, name: str, domain: str, age_days: float, targets: Sequence[str], *,
        approval: str = "approved", prepaid_hours: float | None = None,
        ai_credit: float | None = None, sso: str = "complete", missing_steps: Sequence[str] = (),
        billing_changed: datetime | None = None,
    ) -> Obj:
        created = self.ago(days=age_days)
        nightly = iso(self.last_nightly())
        changed = iso(billing_changed) if billing_changed else None
        approval_at = iso(created + timedelta(days=2)) if approval == "approved" else iso(created)
        prepaid = prepaid_hours if prepaid_hours is not None else self.rng.randint(150, 2400)
        ai = ai_credit if ai_credit is not None else round(self.rng.uniform(300, 6000), 1)
        cust: Obj = {
            "id": "", "updated_at": "", "deleted": False, "name": name, "domain": domain,
            "created_at": iso(created),
            "billing": {
                "approval": approval, "approval_updated_at": approval_at,
                "prepaid_seconds_left": int(prepaid * 3600),
                "prepaid_updated_at": changed if prepaid == 0 and changed else nightly,
                "ai_credit_left": float(ai),
                "ai_credit_updated_at": changed if ai == 0 and changed else nightly,
            },
            "sso": {
                "state": sso, "missing_steps": list(missing_steps),
                "updated_at": iso(created + timedelta(hours=6)),
            },
            "allowed_target_ids": [self.targets[t]["id"] for t in targets],
            "admin_emails": [],
            "_key": key, "_created": created,
        }
        self.customers.append(cust)
        self.by_key[key] = cust
        return cust

    def person(self) -> tuple[str, str]:
        for first, last in self._people:
            if f"{first} {last}" not in self._taken_names:
                self._taken_names.add(f"{first} {last}")
                return first, last
        raise RuntimeError("name pool exhausted")

    def reserve(self, *names: str) -> None:
        self._taken_names.update(names)

    def add_user(
        self, cust: Obj | None, first: str, last: str, role: str, created: datetime, *,
        domain: str | None = None, idp_role: str | None = None,
        last_sign_in: datetime | None = None, provisioning_failed: str | None = None,
        invited_by: Obj | None = None,
    ) -> Obj:
        domain = domain or (cust["domain"] if cust else "ism.example.com")
        local = ascii_slug(f"{first}.{last}").replace(" ", "")
        email = f"{local}@{domain}"
        prov_at = created + timedelta(minutes=3)
        if last_sign_in is None:
            last_sign_in = self.between(max(created, self.ago(days=9)), self.ago(minutes=20))
        user: Obj = {
            "id": "", "updated_at": "", "deleted": False, "email": email,
            "name": f"{first} {last}", "customer_id": None, "role": role,
            "idp_role": idp_role or role, "role_updated_at": iso(created),
            "last_sign_in_at": iso(last_sign_in),
            "visible_navigation": list(cat.NAVIGATION[role]),
            "provisioning": {
                "state": "failed" if provisioning_failed else "ok",
                "reason": provisioning_failed, "updated_at": iso(prov_at),
            },
            "created_at": iso(created), "_customer": cust, "_created": created,
        }
        user["updated_at"] = max(user["last_sign_in_at"], iso(prov_at), iso(created))
        self.users.append(user)
        if cust is not None and invited_by is not None:
            sent = max(created - timedelta(hours=self.rng.randint(2, 40)), cust["_created"])
            self.add_invite(cust, email, role, sent, "accepted", invited_by, accepted_at=created)
        return user

    def add_invite(
        self, cust: Obj, email: str, role: str, created: datetime, state: str, issued_by: Obj,
        *, accepted_at: datetime | None = None, consumed_at: datetime | None = None,
        changed_at: datetime | None = None, replaced_by: Obj | None = None,
    ) -> Obj:
        expires = created + timedelta(days=7)
        changes = [created, accepted_at, consumed_at, changed_at]
        if state == "expired":
            changes.append(expires)
        invite: Obj = {
            "id": "", "updated_at": iso(max(t for t in changes if t is not None)),
            "deleted": False, "email": email, "customer_id": "", "role": role, "state": state,
            "created_at": iso(created), "expires_at": iso(expires),
            "issued_by": issued_by["email"],
            "accepted_at": iso(accepted_at) if accepted_at else None,
            "consumed_at": iso(consumed_at) if consumed_at else None,
            "replaced_by": None, "_customer": cust, "_replaced_by": replaced_by,
            "_issuer": issued_by,
        }
        self.invites.append(invite)
        return invite

    # ------------------------------------------------------------------ workspaces, builds
    def add_workspace(
        self, cust: Obj, owner: Obj, name: str, alias: str, target: str, created: datetime,
        history: Iterable[tuple[str, datetime, str | None]] = (), *,
        final_status: str = "succeeded",
        failure: tuple[str, str, demo_logs.Script] | None = None,
        blockers: Sequence[tuple[str, str]] = (), app_urls: dict[str, str] | None = None,
    ) -> Obj:
        """A workspace and its builds. ``history`` lists (transition, requested at, initiator
        email or None for Console itself); the last build ends with ``final_status`` (or fails
        with ``failure`` = (failing stage, error, log script)). No history: a pending create that
        Console refused with ``blockers`` = [(code, message)]."""
        ws: Obj = {
            "id": "", "updated_at": "", "deleted": False, "name": name, "owner_user_id": "",
            "owner_email": owner["email"], "customer_id": "", "template_alias": alias,
            "target_id": self.targets[target]["id"], "status": "pending",
            "created_at": iso(created), "last_used_at": None, "latest_build": None,
            "apps": [], "create_blockers": [
                {"code": code, "message": msg, "since": iso(created)} for code, msg in blockers
            ],
            "_customer": cust, "_owner": owner, "_created": created,
            "_target": self.targets[target],
            "_alias": self.aliases[alias], "_last_used": None, "_last_start": None,
        }
        steps = list(history)
        last_stop: datetime | None = None
        for n, (transition, at, initiator) in enumerate(steps, 1):
            final = n == len(steps)
            status = final_status if final else "succeeded"
            build = self._add_build(ws, n, transition, at, initiator, status,
                                    failure if final else None)
            if transition in ("stop", "delete"):
                last_stop = at
            elif status == "succeeded":
                ws["_last_start"] = at
            ws["latest_build"] = build
        if steps:
            last = ws["latest_build"]
            ws["status"] = _STATUS[(last["transition"], last["job_status"])]
            if ws["status"] in ("running", "stopping"):
                ws["_last_used"] = self.between(max(steps[-1][1], self.ago(minutes=25)), self.now)
            else:
                ws["_last_used"] = last_stop
            if ws["_last_used"] is not None:
                ws["last_used_at"] = iso(ws["_last_used"])
        if ws["status"] == "running":
            base = f"https://{name}--{owner['email'].split('@')[0].replace('.', '-')}"
            for slug, display, action, path in ws["_alias"]["_spec"].apps:
                url = (app_urls or {}).get(slug) or f"{base}.ws.ism.example.com{path}"
                ws["apps"].append(
                    {"slug": slug, "display_name": display, "launch_action": action, "url": url}
                )
        stamps = [ws["created_at"], ws["last_used_at"] or ""]
        if ws["latest_build"]:
            b = ws["latest_build"]
            stamps += [b["created_at"], b["completed_at"] or b["started_at"] or ""]
        ws["updated_at"] = max(stamps)
        self.workspaces.append(ws)
        return ws

    def _add_build(
        self, ws: Obj, n: int, transition: str, at: datetime, initiator: str | None,
        status: str, failure: tuple[str, str, demo_logs.Script] | None,
    ) -> Obj:
        started = at + timedelta(seconds=2)
        script = _OK_SCRIPTS[transition]
        stage: str | None = None
        error: str | None = None
        if failure:
            stage, error, script = failure
            status = "failed"
        if status in ("running", "pending"):
            script = script[: max(len(script) // 2, 1)]
        end = started + timedelta(seconds=script[-1][0] if failure else _DURATION[transition])
        build: Obj = {
            "id": "", "workspace_id": "", "build_number": n, "transition": transition,
            "job_status": status, "error": error,
            "failing_stage": stage, "created_at": iso(at),
            "started_at": iso(started) if status != "pending" else None,
            "completed_at": iso(end) if status in ("succeeded", "failed", "canceled") else None,
            "initiator_email": initiator, "_ws": ws, "_script": script, "_start": started,
        }
        if status == "canceled":
            build["completed_at"] = iso(started + timedelta(seconds=30))
            build["_script"] = script[:3]
        self.builds.append(build)
        return build

    def cycles(
        self, created: datetime, end: datetime, ends_running: bool, who: str
    ) -> list[tuple[str, datetime, str | None]]:
        """A plausible start/stop history from the create at ``created`` to a final build at
        ``end`` (a start if ``ends_running``, else a stop); Console's autostop has no initiator."""
        steps: list[tuple[str, datetime, str | None]] = [("start", created, who)]
        short = end - created <= timedelta(hours=3)
        if ends_running and short:
            return steps  # started at create and still running
        count = 0 if short else 2 * self.rng.randint(0, 2) + (1 if ends_running else 0)
        inner = sorted(
            self.between(created + timedelta(hours=1), end - timedelta(hours=1))
            for _ in range(count)
        )
        for i, at in enumerate(inner):
            kind = "stop" if i % 2 == 0 else "start"
            steps.append((kind, at, None if kind == "stop" and self.rng.random() < 0.5 else who))
        final = "start" if ends_running else "stop"
        steps.append((final, end, who if final == "start" or self.rng.random() < 0.5 else None))
        return steps

    # ------------------------------------------------------------------ ids
    def assign_ids(self) -> None:
        """Number every collection in creation order, then resolve the private references."""
        for objs, prefix, width in (
            (self.customers, "cus", 4), (self.users, "usr", 6), (self.invites, "inv", 6),
            (self.workspaces, "ws", 6), (self.builds, "bld", 7),
        ):
            objs.sort(key=lambda o: o["created_at"])
            for i, obj in enumerate(objs, 1):
                obj["id"] = f"{prefix}-{i:0{width}d}"
        for user in self.users:
            user["customer_id"] = user["_customer"]["id"] if user["_customer"] else None
        for inv in self.invites:
            inv["customer_id"] = inv["_customer"]["id"]
            if inv["_replaced_by"] is not None:
                inv["replaced_by"] = inv["_replaced_by"]["id"]
        for ws in self.workspaces:
            ws["customer_id"] = ws["_customer"]["id"]
            ws["owner_user_id"] = ws["_owner"]["id"]
        for cust in self.customers:
            cust["admin_emails"] = [
                u["email"] for u in self.users
                if u["_customer"] is cust and u["role"] == "customer_admin"
            ]
            stamps = [cust["created_at"], cust["sso"]["updated_at"]]
            stamps += [v for k, v in cust["billing"].items() if k.endswith("_at") and v]
            cust["updated_at"] = max(stamps)
        next_log = 1
        for build in self.builds:
            ws = build["_ws"]
            build["workspace_id"] = ws["id"]
            facts = {"ws": ws["name"], "template": ws["_alias"]["template_name"],
                     "version": ws["_alias"]["template_version"]}
            lines = demo_logs.render(build["_script"], build, build["_start"], next_log, iso,
                                     **facts)
            self.build_logs[build["id"]] = lines
            next_log += len(lines)

    def add_audit(self, at: datetime, action: str, actor: Obj | None, customer: Obj | None,
                  target_type: str, target_id: str, result: str = "ok", detail: str = "") -> None:
        self.audit.append({
            "id": "", "updated_at": iso(at), "deleted": False, "time": iso(at),
            "actor_user_id": actor["id"] if actor else None,
            "actor_email": actor["email"] if actor else "",
            "customer_id": customer["id"] if customer else None, "action": action,
            "target_type": target_type, "target_id": target_id, "result": result,
            "detail": detail, "request_id": f"req-{self.rng.getrandbits(48):012x}",
        })


def strip_private(obj: Obj) -> Obj:
    """The wire dict without the builder's ``_`` keys (nested build dicts included)."""
    out = {k: v for k, v in obj.items() if not k.startswith("_")}
    if isinstance(out.get("latest_build"), dict):
        out["latest_build"] = {k: v for k, v in out["latest_build"].items() if k[0] != "_"}
    return out

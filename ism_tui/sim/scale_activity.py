"""The scale scenario's recent activity: refused creates, usage, reconciliation periods, invites
and audit.

Split from ``scenario_scale`` (which builds customers, users and the workspace fleet) to keep
modules small; each function fills part of the builder's World from its index arrays.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from ism_tui.sim import demo_catalog as cat
from ism_tui.sim.demo_builder import ascii_slug

if TYPE_CHECKING:
    from ism_tui.sim.scenario_scale import ScaleBuilder

Obj = dict[str, Any]
DAY = 86_400
USAGE_DAYS = 14
PERIOD_DAYS = 30
DENIED = "Analytics is available to customer admins and platform operators."
CUSTOMER_BLOCKERS = (
    "billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing", "sso_incomplete"
)


class Clock:
    """Wire timestamps from epoch seconds by table lookup (``strftime`` per object is slow)."""

    def __init__(self, now: datetime, days_back: int, days_ahead: int = 10) -> None:
        self.now = int(now.timestamp())
        self.midnight = self.now - self.now % DAY
        self.base = self.midnight - days_back * DAY
        first = now.date() - timedelta(days=days_back)
        self.days = [(first + timedelta(days=n)).isoformat()
                     for n in range(days_back + days_ahead + 1)]
        self._prefix = [d + "T" for d in self.days]
        self._hm = [f"{h:02d}:{m:02d}:" for h in range(24) for m in range(60)]
        self._ss = [f"{s:02d}Z" for s in range(60)]

    def __call__(self, t: int) -> str:
        d, r = divmod(t - self.base, DAY)
        m, s = divmod(r, 60)
        return self._prefix[d] + self._hm[m] + self._ss[s]

    def day(self, t: int) -> str:
        return self.days[(t - self.base) // DAY]


def plan_refused_creates(s: ScaleBuilder) -> list[tuple[str, int, str, str]]:
    """(code, owner, alias, target id) of each refused create: the newest workspaces."""
    rand, start, size = s.rng.random, s.start, s.size
    plan = []
    for c in range(s.C):
        if s.kind[c] in CUSTOMER_BLOCKERS:
            for n in range(min(3, size[c])):
                alias = ("jupyter-ai" if s.kind[c] == "ai_credit_missing"
                         else s.usable_aliases[n])
                plan.append((s.kind[c], start[c] + n, alias, s.allowed[c][0]))
    normal = [c for c in range(1, s.C) if not s.kind[c]]
    for n in range(max(1, s.W // 500)):
        for code in ("target_unavailable", "template_alias_unavailable",
                     "user_provisioning_failed"):
            c = normal[int(rand() * len(normal))]
            j = start[c] + 1 + int(rand() * (size[c] - 1))
            alias = s.usable_aliases[int(rand() * len(s.usable_aliases))]
            target = s.allowed[c][0]
            if code == "target_unavailable":
                target = s.down_target
                if target not in s.allowed[c]:
                    s.allowed[c].append(target)
            elif code == "template_alias_unavailable":
                alias = s.bad_aliases[n % len(s.bad_aliases)][0]
            plan.append((code, j, alias, target))
    return plan


def add_refused_creates(s: ScaleBuilder, plan: list[tuple[str, int, str, str]], first: int,
                        width: int, names: list[str], salts: list[int]) -> None:
    ck, now = s.clock, s.now
    t0, span = now - 2 * DAY, 2 * DAY - 3600
    for k, (code, j, alias, target) in enumerate(plan):
        c = s.cust_of[j]
        created = t0 + k * span // len(plan)
        wid = f"ws-{first + k + 1:0{width}d}"
        facts = {"customer": s.names[c], "approval": "pending", "alias": alias,
                 "state": dict(s.bad_aliases).get(alias, ""),
                 "target_name": s.world.targets[target]["name"],
                 "reason": s.world.targets[target]["state_reason"],
                 "steps": "; ".join(cat.SSO_MISSING_STEPS).lower(), "email": s.emails[j]}
        if code == "user_provisioning_failed":
            facts["reason"] = cat.PROVISIONING_FAILURE
            user = s.world.users[s.uids[j]]
            if user["provisioning"]["state"] != "failed":  # a second refused create: same cause
                failed_at = ck(created - DAY)
                user["provisioning"] = {"state": "failed", "reason": cat.PROVISIONING_FAILURE,
                                        "updated_at": failed_at}
                user["updated_at"] = max(user["updated_at"], failed_at)
        stamp = ck(created)
        s.world.workspaces[wid] = {
            "id": wid, "updated_at": stamp, "deleted": False,
            "name": names[(salts[j] + 1000 + k) % len(names)] + "-new",
            "owner_user_id": s.uids[j], "owner_email": s.emails[j],
            "customer_id": s.cids[c], "template_alias": alias, "target_id": target,
            "status": "pending", "created_at": stamp, "last_used_at": None,
            "latest_build": None, "apps": [],
            "create_blockers": [{"code": code, "since": stamp,
                                 "message": cat.BLOCKER_MESSAGES[code].format(**facts)}],
        }
        s.cases[code].append(wid)


def gap(s: ScaleBuilder, c: int, back: int) -> bool:
    """Days (``back`` days ago) a story customer has no usage rows."""
    k = s.kind[c]
    return (k == "analytics_empty:reconciliation" and 4 <= back <= 6) or (
        k == "analytics_empty:provider_delay" and back <= 1)


def add_usage(s: ScaleBuilder) -> None:
    """A row per running workspace per day of the last 14 it existed (story gaps excepted)."""
    ck, rand, now = s.clock, s.rng.random, s.now
    rows, n = s.world.usage, 0
    for back in range(USAGE_DAYS - 1, -1, -1):
        day_start = ck.midnight - back * DAY
        day = ck.day(day_start)
        s.posted[day] = min(day_start + DAY + 7200, now - 600)
        posted = ck(s.posted[day])
        for wid, j, c, created, started, ai in s.running:
            if created >= day_start + DAY or gap(s, c, back):
                continue
            begin = max(day_start, created, started if back == 0 else 0)
            cap = (now if back == 0 else day_start + DAY) - begin
            seconds = min(cap, 1800 + int(rand() * 30_600))
            if seconds < 60:
                continue
            credits = round(rand() * 40, 2) if ai else 0.0
            n += 1
            uid = f"use-{n:07d}"
            rows[uid] = {
                "id": uid, "updated_at": posted, "deleted": False, "day": day,
                "customer_id": s.cids[c], "workspace_id": wid, "user_id": s.uids[j],
                "workspace_seconds": seconds, "ai_credits_used": credits,
                "cost_usd": round(seconds * 0.0000583 + credits * 0.02, 2),
            }
            per_day = s.usage_count[c]
            per_day[day] = per_day.get(day, 0) + 1


def add_periods(s: ScaleBuilder) -> None:
    """30 days per customer: reconciled once provider data covers the day (04:00 next day)."""
    ck, now, fresh = s.clock, s.now, s.now - 3600
    rows, n = s.world.usage_periods, 0
    for back in range(PERIOD_DAYS - 1, -1, -1):
        day_start = ck.midnight - back * DAY
        day, closed = ck.day(day_start), day_start + DAY + 4 * 3600
        default = ("reconciled", closed) if closed <= fresh else ("pending", fresh)
        for c in range(s.C):
            state, through = default
            k = s.kind[c]
            if k == "analytics_empty:reconciliation" and 4 <= back <= 6:
                state, through = ("failed" if back > 4 else "pending"), closed
            elif k == "analytics_empty:provider_delay" and back <= 1:
                state, through = "delayed", now - 20 * 3600
            n += 1
            pid = f"per-{n:06d}"
            rows[pid] = {
                "id": pid, "updated_at": ck(min(through + 1800, now)), "deleted": False,
                "day": day, "customer_id": s.cids[c], "reconciliation": state,
                "provider_data_through": ck(through),
            }


def add_invites(s: ScaleBuilder) -> None:
    """~W/20 invites: 60% accepted (by existing users), then pending, expired, consumed, and
    revoked ones replaced by a newer invite."""
    ck, rand, now, C = s.clock, s.rng.random, s.now, s.C
    handles = [ascii_slug(f)[:1] + ascii_slug(last).replace(" ", "") for f, last in s.people]
    records: list[Obj] = []

    def add(c: int, email: str, role: str, created: int, state: str, changed: int,
            **more: Any) -> Obj:
        admin = s.emails[s.start[c]]
        rec: Obj = {"id": "", "updated_at": ck(changed), "deleted": False, "email": email,
               "customer_id": s.cids[c], "role": role, "state": state,
               "created_at": ck(created), "expires_at": ck(created + 7 * DAY),
               "issued_by": s.operator_email if email == admin else admin,
               "accepted_at": None, "consumed_at": None, "replaced_by": None,
               "_t": created, **more}
        records.append(rec)
        return rec

    k = 0
    while len(records) < s.W // 20:
        r, c = rand(), int(rand() * C)
        r = 0.87 if k == 0 else 0.8 if k == 1 else r  # at least one consumed, one expired
        email = f"{handles[k % len(handles)]}{k}@{s.domains[c]}"
        k += 1
        member = "customer_member"
        if r < 0.6:
            j = int(rand() * s.U)
            joined = s.user_created[j]
            role = s.world.users[s.uids[j]]["role"]
            add(s.cust_of[j], s.emails[j], role, joined - 3600 - int(rand() * 2 * DAY),
                "accepted", joined, accepted_at=ck(joined))
        elif r < 0.75:
            t = now - int(rand() * 6 * DAY)
            add(c, email, member, t, "pending", t)
        elif r < 0.85:
            t = now - 8 * DAY - int(rand() * 50 * DAY)
            add(c, email, member, t, "expired", t + 7 * DAY)
        elif r < 0.9:
            t = now - int(rand() * 6 * DAY)
            used = t + int(rand() * (now - t))
            add(c, email, member, t, "consumed", used, consumed_at=ck(used))
        else:
            t = now - 3 * DAY - int(rand() * 27 * DAY)
            redo = t + int(rand() * 2 * DAY)
            fresh = redo + 7 * DAY > now
            new = add(c, email, member, redo, "pending" if fresh else "expired",
                      redo if fresh else redo + 7 * DAY)
            add(c, email, member, t, "revoked", redo, _rep=new)
    records.sort(key=lambda x: x["_t"])
    for n, rec in enumerate(records, 1):
        rec["id"] = f"inv-{n:06d}"
    for rec in records:
        del rec["_t"]
        rep = rec.pop("_rep", None)
        if rep is not None:
            rec["replaced_by"] = rep["id"]
        if rec["state"] in ("consumed", "expired"):
            s.cases[f"invite_{rec['state']}"].append(rec["id"])
        s.world.invites[rec["id"]] = rec


def add_audit(s: ScaleBuilder) -> None:
    """The case events (empty and denied analytics views, refused creates, failed
    provisioning), then sign-ins, builds, invites and ordinary views up to ~W/20 events."""
    ck, rand, now, rng = s.clock, s.rng.random, s.now, s.rng
    w, users = s.world, s.world.users
    events: list[Obj] = []

    def add(time: str, action: str, actor: Obj | None, c: int | None, ttype: str,
            target: str, result: str = "ok", detail: str = "") -> None:
        events.append({
            "id": "", "updated_at": time, "deleted": False, "time": time,
            "actor_user_id": actor["id"] if actor else None,
            "actor_email": actor["email"] if actor else "",
            "customer_id": s.cids[c] if c is not None else None, "action": action,
            "target_type": ttype, "target_id": target, "result": result, "detail": detail,
            "request_id": f"req-{rng.getrandbits(48):012x}",
        })

    def view(j: int, c: int, first: str, last: str, at: int, result: str) -> None:
        shown = 0
        if result == "ok":
            shown = sum(n for day, n in s.usage_count[c].items()
                        if first <= day <= last and s.posted[day] <= at)
        detail = json.dumps({"customer_id": s.cids[c], "from": first, "to": last,
                             "rows_shown": shown})
        add(ck(at), "analytics.view", users[s.uids[j]], c, "analytics", s.cids[c], result,
            detail)

    days = ck.days
    today = days.index(ck.day(now))
    done = 1 if ck.midnight + 4 * 3600 <= now - 3600 else 2  # last reconciled day, days ago
    ranges = {  # the period each story's admin looked at, in days before today
        "analytics_empty:scope": (29 + done, done), "analytics_empty:period": (395, 366),
        "analytics_empty:reconciliation": (6, 4),
        "analytics_empty:not_running": (13 + done, done),
        "analytics_empty:provider_delay": (1, 0),
    }
    for c in range(s.C):
        if s.kind[c] in ranges:
            first, last = ranges[s.kind[c]]
            view(s.start[c], c, days[today - first], days[today - last],
                 now - int(rand() * 6 * 3600), "empty")
    normal = [c for c in range(1, s.C) if not s.kind[c]]
    for _ in range(s.each):
        c = normal[int(rand() * len(normal))]
        member = users[s.uids[s.start[c] + 1]]
        add(ck(now - int(rand() * 2 * DAY)), "analytics.view", member, c, "analytics",
            s.cids[c], "denied", DENIED)
        s.cases["member_analytics_expected"].append(member["id"])
    cust_index = {cid: c for c, cid in enumerate(s.cids)}
    for code in ("billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
                 "sso_incomplete", "target_unavailable", "template_alias_unavailable",
                 "user_provisioning_failed"):
        for wid in s.cases[code]:
            ws = w.workspaces[wid]
            c, owner = cust_index[ws["customer_id"]], users[ws["owner_user_id"]]
            add(ws["created_at"], "workspace.create", owner, c, "workspace", wid, "failed",
                f"create blocked: {code}")
            if code == "user_provisioning_failed":
                prov = owner["provisioning"]
                add(prov["updated_at"], "user.provision", None, c, "user", owner["id"],
                    "failed", prov["reason"])
    by_email = {u["email"]: u for u in users.values()}
    invites = list(w.invites.values())
    while len(events) < s.W // 20:
        r = rand()
        if r < 0.55:
            j = int(rand() * s.U)
            u = users[s.uids[j]]
            add(u["last_sign_in_at"], "user.sign_in", u, s.cust_of[j], "user", u["id"])
        elif r < 0.85:
            b = s.builds[int(rand() * len(s.builds))]
            ws = w.workspaces[b["workspace_id"]]
            add(b["created_at"], f"workspace.{b['transition']}",
                by_email.get(b["initiator_email"] or ""), cust_index[ws["customer_id"]],
                "workspace", ws["id"], detail=f"build #{b['build_number']}")
        elif r < 0.95 and invites:
            inv = invites[int(rand() * len(invites))]
            add(inv["created_at"], "invite.create", by_email.get(inv["issued_by"]),
                cust_index[inv["customer_id"]], "invite", inv["id"])
        else:
            c = normal[int(rand() * len(normal))]
            view(s.start[c], c, days[today - 6], days[today], now - int(rand() * 5 * DAY), "ok")
    events.sort(key=lambda e: e["time"])
    for n, event in enumerate(events, 1):
        event["id"] = f"aud-{n:06d}"
        w.audit[event["id"]] = event

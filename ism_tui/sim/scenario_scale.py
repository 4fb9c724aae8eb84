"""The scale scenario: a proportional World of any size (100k workspaces by default) for speed
and memory work, with a ~1% sprinkle of every playbook case.

Proportions for ``workspaces=W``: ~W/200 customers (at least 12, so every case has its own),
W/5 users, W/20 invites, 12 targets, 20 template aliases, one latest build per workspace, usage
for the last 14 days of the ~10% running workspaces, 30 days of usage periods per customer,
W/20 audit events, and ~20 log lines per failed build only.

Built for speed (~1-2 s at 100k): times are integer epoch seconds turned into wire strings by
table lookups (``Clock``), pools are precomputed, and no pydantic or datetime runs per object.
Creation times grow with the index in each collection, so ids sort in creation order; the
blocked creates come last, as the newest workspaces.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from typing import Any

from ism_tui.sim import demo_catalog as cat
from ism_tui.sim import demo_logs
from ism_tui.sim import scale_activity as activity
from ism_tui.sim.demo_builder import ascii_slug, iso
from ism_tui.sim.scale_activity import CUSTOMER_BLOCKERS, Clock
from ism_tui.sim.world import DEMO_CASES, World

Obj = dict[str, Any]
DAY = 86_400
# customer kinds whose workspaces are all stopped long ago (no usage at all in the window)
_QUIET = frozenset((*CUSTOMER_BLOCKERS, "analytics_empty:scope", "analytics_empty:not_running"))
# customer kinds whose first workspace is running (they need usage in the window)
_BUSY = frozenset(("analytics_empty:period", "analytics_empty:reconciliation",
                   "analytics_empty:provider_delay", "lookalike"))
FAILED_ERROR = (
    'AttachVolume.Attach failed for volume "pvc-home": Multi-Attach error, the volume is still '
    "attached to another node; timed out after 10m0s"
)


def build(now: datetime, seed: int = 7, workspaces: int = 100_000) -> World:
    """A World with ``workspaces`` workspaces (at least 100) and everything in proportion."""
    if workspaces < 100:
        raise ValueError(f"the scale scenario needs at least 100 workspaces, got {workspaces}")
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return ScaleBuilder(now.astimezone(UTC).replace(microsecond=0), seed, workspaces).run()


class ScaleBuilder:
    """Index-based builder: customer ``c``, user ``j`` and workspace ``i`` are list positions;
    users of a customer and workspaces of a user are contiguous ranges."""

    def __init__(self, now: datetime, seed: int, workspaces: int) -> None:
        self.world = World(now=now)
        self.clock = Clock(now, days_back=1100)
        self.now = self.clock.now
        self.rng = random.Random(seed)
        self.W = workspaces
        self.C = max(workspaces // 200, 12)
        self.U = max(workspaces // 5, 3 * self.C)
        self.each = max(1, round(self.C * 0.01))  # customers per customer-level case
        self.cases: dict[str, list[str]] = {c: [] for c in DEMO_CASES}
        self.cases["fails_next_build"] = []
        self.builds: list[Obj] = []
        # running workspaces: (id, owner, customer, created, last start, uses managed AI)
        self.running: list[tuple[str, int, int, int, int, bool]] = []
        self.usage_count: list[dict[str, int]] = [{} for _ in range(self.C)]  # rows per day
        self.posted: dict[str, int] = {}  # usage day -> when its rows were posted

    def run(self) -> World:
        self._catalogue()
        self._customers()
        self._users()
        self._workspaces()
        activity.add_usage(self)
        activity.add_periods(self)
        activity.add_invites(self)
        activity.add_audit(self)
        self.world.cases = self.cases
        return self.world

    # ------------------------------------------------------------------ catalogue
    def _catalogue(self) -> None:
        w, ck = self.world, self.clock
        created = ck(self.now - 1000 * DAY)
        for n, region in enumerate(cat.SCALE_REGIONS, 1):
            tid = f"tgt-{n:03d}"
            state, reason, since = "available", None, None
            if region == "us-west-2":
                state, since = "unavailable", ck(self.now - int(2.3 * DAY))
                reason = "GPU node pool capacity exhausted; provider quota increase requested."
            elif region == "eu-north-1":
                state, since = "degraded", ck(self.now - 9 * 3600)
                reason = "Image pulls are slow while the registry mirror is rebuilt."
            w.targets[tid] = {
                "id": tid, "updated_at": since or created, "deleted": False,
                "name": f"{region}-{'gpu' if state == 'unavailable' else 'prod'}",
                "region": region, "state": state, "state_reason": reason, "state_since": since,
            }
        self.down_target = "tgt-012"
        self.usable_targets = [t for t, x in w.targets.items() if x["state"] != "unavailable"]
        specs = [(a.alias, a.template_name, a.template_version, a.state, a.state_reason)
                 for a in cat.DEMO_ALIASES]
        specs += [(alias, tpl, f"v1.{n}.0", "available", None)
                  for n, (alias, tpl) in enumerate(cat.SCALE_EXTRA_ALIASES)]
        for n, (alias, tpl, version, state, reason) in enumerate(specs, 1):
            if alias == "php-laravel":
                state, reason = "unavailable", "Template build is broken: base image pull fails."
            since = ck(self.now - 16 * DAY) if reason else None
            w.templates[f"tpl-{n:03d}"] = {
                "id": f"tpl-{n:03d}", "updated_at": since or created, "deleted": False,
                "alias": alias, "template_name": tpl, "template_version": version,
                "state": state, "state_reason": reason, "state_since": since,
            }
        aliases = list(w.templates.values())
        self.usable_aliases = [a["alias"] for a in aliases if a["state"] == "available"]
        self.bad_aliases = [(a["alias"], a["state"]) for a in aliases if a["state"] != "available"]

    # ------------------------------------------------------------------ customers
    def _customers(self) -> None:
        rng, C, U = self.rng, self.C, self.U
        weights = [1 + 3 * rng.random() for _ in range(C)]
        total, acc, spare = sum(weights), 0.0, U - 2 * C
        self.start = []
        for c in range(C):
            self.start.append(2 * c + int(spare * acc / total))
            acc += weights[c]
        self.start.append(U)
        self.size = [self.start[c + 1] - self.start[c] for c in range(C)]
        # Special customers: the "quiet" kinds need old fleets (all users in the first 90%).
        old = [c for c in range(1, C - 1) if self.start[c + 1] <= 0.9 * U]
        rng.shuffle(old)
        kind = [""] * C
        taken = {0}  # customer 0 holds the demo tokens: kept ordinary
        fallback = list(range(1, C - 1))
        for case in ("analytics_empty:scope", *CUSTOMER_BLOCKERS, "analytics_empty:not_running"):
            for _ in range(self.each):
                pair = case == "analytics_empty:scope"  # the viewed one and its look-alike
                c = next(x for x in old + fallback
                         if x not in taken and not (pair and x + 1 in taken))
                kind[c] = case
                taken.update((c, c + 1) if pair else (c,))
                if pair:
                    kind[c + 1] = "lookalike"
        rest = [c for c in range(1, C) if c not in taken]
        rng.shuffle(rest)
        for case in sorted(_BUSY - {"lookalike"}):
            for _ in range(self.each):
                kind[rest.pop()] = case
        self.kind = kind
        pool = [f"{p} {n}" for p in cat.COMPANY_PREFIXES for n in cat.COMPANY_NOUNS]
        rng.shuffle(pool)
        self.names: list[str] = []
        self.domains: list[str] = []
        for c in range(C):
            if kind[c] == "lookalike":
                self.names.append(self.names[c - 1] + " (EU)")
                self.domains.append("eu." + self.domains[c - 1])
                continue
            name = pool[c % len(pool)] + (f" {c // len(pool) + 1}" if c >= len(pool) else "")
            self.names.append(name)
            self.domains.append(ascii_slug(name).replace(" ", "") + ".example")
        n_usable = len(self.usable_targets)
        self.allowed = [[self.usable_targets[c % n_usable], self.usable_targets[(c + 3) % n_usable]]
                        for c in range(C)]
        self.cust_created = [self.now - (1000 - 940 * self.start[c] // U) * DAY for c in range(C)]
        self.cids = [f"cus-{c + 1:04d}" for c in range(C)]

    def _customer_dicts(self, admins: list[list[str]]) -> None:
        ck, rng = self.clock, self.rng
        run = self.clock.midnight + 4 * 3600  # balances are recomputed nightly at 04:00
        nightly = ck(run if run <= self.now else run - DAY)
        for c in range(self.C):
            k, created = self.kind[c], self.cust_created[c]
            changed = ck(self.now - 2 * DAY - int(rng.random() * DAY))
            approval = "pending" if k == "billing_approval_missing" else "approved"
            sso = "incomplete" if k == "sso_incomplete" else "complete"
            cid = self.cids[c]
            self.world.customers[cid] = {
                "id": cid, "updated_at": nightly, "deleted": False, "name": self.names[c],
                "domain": self.domains[c], "created_at": ck(created),
                "billing": {
                    "approval": approval,
                    "approval_updated_at": ck(created + (0 if approval == "pending" else 2 * DAY)),
                    "prepaid_seconds_left": 0 if k == "prepaid_balance_missing"
                    else 3600 * rng.randint(100, 5000),
                    "prepaid_updated_at": changed if k == "prepaid_balance_missing" else nightly,
                    "ai_credit_left": 0.0 if k == "ai_credit_missing"
                    else round(rng.uniform(200, 8000), 1),
                    "ai_credit_updated_at": changed if k == "ai_credit_missing" else nightly,
                },
                "sso": {"state": sso,
                        "missing_steps": list(cat.SSO_MISSING_STEPS) if sso != "complete" else [],
                        "updated_at": ck(created + 6 * 3600)},
                "allowed_target_ids": self.allowed[c], "admin_emails": admins[c],
            }
            if k.startswith("analytics_empty"):
                self.cases[k].append(cid)

    def uid(self, j: int) -> str:
        return f"usr-{j + 6:0{max(6, len(str(self.U + 5)))}d}"  # usr-000001..5: operators

    # ------------------------------------------------------------------ users
    def _users(self) -> None:
        ck, rand, now, U = self.clock, self.rng.random, self.now, self.U
        users, nav = self.world.users, cat.NAVIGATION
        width = max(6, len(str(U + 5)))
        ops = (("Sam", "Rivera"), ("Jordan", "Ellis"), ("Mei", "Tanaka"), ("Kofi", "Mensah"),
               ("Ingrid", "Larsen"))
        for n, (first, last) in enumerate(ops, 1):
            joined, signed_in = ck(now - (1050 - n) * DAY), ck(now - n * 1800)
            uid = f"usr-{n:0{width}d}"
            users[uid] = {
                "id": uid, "updated_at": signed_in, "deleted": False,
                "email": f"{first.lower()}.{last.lower()}@ism.example.com",
                "name": f"{first} {last}", "customer_id": None, "role": "platform_operator",
                "idp_role": "platform_operator", "role_updated_at": joined,
                "last_sign_in_at": signed_in,
                "visible_navigation": list(nav["platform_operator"]),
                "provisioning": {"state": "ok", "reason": None, "updated_at": joined},
                "created_at": joined,
            }
        people = [(f, last) for f in cat.FIRST_NAMES for last in cat.LAST_NAMES]
        self.rng.shuffle(people)
        self.people = people
        locals_ = [ascii_slug(f"{f}.{last}").replace(" ", "") for f, last in people]
        P = len(people)
        self.uids = [self.uid(j) for j in range(U)]
        self.emails = [""] * U
        self.cust_of = [0] * U
        self.user_created = [0] * U
        admins: list[list[str]] = [[] for _ in range(self.C)]
        t0, span, step = now - 990 * DAY, 950 * DAY, 950 * DAY // U
        c = 0
        for j in range(U):
            while j >= self.start[c + 1]:
                c += 1
            created = t0 + j * span // U + int(rand() * step)
            first, last = people[j % P]
            email = f"{locals_[j % P]}{j // P or ''}@{self.domains[c]}"
            role = "customer_admin" if (j - self.start[c]) % 15 == 0 else "customer_member"
            idp = role
            seen = now - int(rand() * 30 * DAY)
            if role == "customer_member" and not self.kind[c] and rand() < 0.005:
                idp, seen = "customer_admin", now - int(rand() * 3 * DAY)
                self.cases["role_not_mapped"].append(self.uids[j])
            if role == "customer_admin":
                admins[c].append(email)
            self.emails[j], self.cust_of[j], self.user_created[j] = email, c, created
            stamp = ck(created)
            users[self.uids[j]] = {
                "id": self.uids[j], "updated_at": ck(seen), "deleted": False, "email": email,
                "name": f"{first} {last}", "customer_id": self.cids[c], "role": role,
                "idp_role": idp, "role_updated_at": stamp, "last_sign_in_at": ck(seen),
                "visible_navigation": list(nav[role]),
                "provisioning": {"state": "ok", "reason": None, "updated_at": ck(created + 180)},
                "created_at": stamp,
            }
        if not self.cases["role_not_mapped"]:  # small worlds: still one example
            j = self.start[next(c for c in range(1, self.C) if not self.kind[c])] + 1
            users[self.uids[j]].update(idp_role="customer_admin", last_sign_in_at=ck(now - 3600),
                                       updated_at=ck(now - 3600))
            self.cases["role_not_mapped"].append(self.uids[j])
        self._customer_dicts(admins)
        first_op = users[f"usr-{1:0{width}d}"]
        self.world.tokens = {
            "demo-operator": _me(first_op, None),
            "demo-admin": _me(users[self.uids[self.start[0]]], self.world.customers[self.cids[0]]),
            "demo-member": _me(users[self.uids[self.start[0] + 1]],
                               self.world.customers[self.cids[0]]),
        }
        self.operator_email = first_op["email"]

    # ------------------------------------------------------------------ workspaces, builds
    def _workspaces(self) -> None:
        ck, rand, now, U, W = self.clock, self.rng.random, self.now, self.U, self.W
        blocked = activity.plan_refused_creates(self)
        M = W - len(blocked)
        width = max(6, len(str(W)))
        names = [p + s for p in cat.PROJECTS
                 for s in ("-dev", "", "-sandbox", "-v2", "-exp", "-api", "-lab")]
        P = len(names)
        salts = [int(rand() * P) for _ in range(U)]
        aliases, n_alias = self.usable_aliases, len(self.usable_aliases)
        kind, cust_of, emails, allowed = self.kind, self.cust_of, self.emails, self.allowed
        cids = self.cids
        out, builds, running = self.world.workspaces, self.builds, self.running
        internal, failed = self.cases["launch_url_internal"], self.cases["provisioning_failed"]
        self.failed_builds: list[tuple[Obj, int, str]] = []
        t0, span, recent, last_c = now - 700 * DAY, 698 * DAY, now - 15 * DAY, -1
        for i in range(M):
            j = i * U // M
            c = cust_of[j]
            created = t0 + i * span // M + int(rand() * (span // M))
            k = kind[c]
            if k in _QUIET:
                status = "stopped"
            elif created > recent or (k in _BUSY and c != last_c):
                status = "running"
            else:
                r = rand()
                status = ("running" if r < 0.088 else "failed" if r < 0.093
                          else "starting" if r < 0.095 else "stopping" if r < 0.097
                          else "canceled" if r < 0.1 else "deleted" if r < 0.11
                          else "stopped")
                if status == "stopped" and not failed:  # small worlds: still one example
                    status = "failed"
            last_c = c
            wid = f"ws-{i + 1:0{width}d}"
            name = names[(salts[j] + i * 37) % P]
            owner = emails[j]
            alias = aliases[int(rand() * n_alias)]
            used = created + int(rand() * (recent - created)) if created < recent else created + 300
            error = stage = None
            number = 2 + 2 * int(rand() * 20)
            if status == "running":
                t = max(created + 60, now - 600 - int(rand() * 10_800))
                used = max(t, now - int(rand() * 1500))
                tr, job, end, number = "start", "succeeded", t + 45, number + 1
                running.append((wid, j, c, created, t, alias == "jupyter-ai"))
            elif status == "stopped":
                t, tr, job, end = used, "stop", "succeeded", used + 15
            elif status == "failed":
                t = now - 700 - int(rand() * 10 * DAY)  # the failed start has ended
                tr, job, end, number = "start", "failed", t + 607, number + 1
                error, stage = FAILED_ERROR, "volume attach"
            elif status == "starting":
                t, tr, job, end = now - 5 - int(rand() * 300), "start", "running", 0
                number += 1
            elif status == "stopping":
                t = now - 5 - int(rand() * 120)
                used, tr, job, end = t, "stop", "running", 0
                running.append((wid, j, c, created, t - 3600, alias == "jupyter-ai"))
            elif status == "canceled":
                t = now - 60 - int(rand() * 5 * DAY)
                tr, job, end, number = "start", "canceled", t + 30, number + 1
            else:
                t = used + int(rand() * 5 * DAY)
                tr, job, end = "delete", "succeeded", t + 20
            build = {
                "id": "", "workspace_id": wid, "build_number": number, "transition": tr,
                "job_status": job, "error": error, "failing_stage": stage, "created_at": ck(t),
                "started_at": ck(t + 2), "completed_at": ck(end) if end else None,
                "initiator_email": owner if tr != "stop" or rand() < 0.5 else None,
            }
            builds.append(build)
            apps = []
            if status == "running":
                url = f"https://{name}--{owner.split('@')[0].replace('.', '-')}.ws.ism.example.com/"
                if not internal or rand() < 0.01:
                    url = cat.INTERNAL_URLS[len(internal) % len(cat.INTERNAL_URLS)]
                    internal.append(wid)
                apps.append({"slug": "code-server", "display_name": "VS Code (browser)",
                             "launch_action": "Open in browser", "url": url})
            elif status == "failed":
                failed.append(wid)
                self.failed_builds.append((build, t + 2, name))
            out[wid] = {
                "id": wid, "updated_at": ck(max(used, end, t)), "deleted": False, "name": name,
                "owner_user_id": self.uids[j], "owner_email": owner, "customer_id": cids[c],
                "template_alias": alias,
                "target_id": allowed[c][int(rand() * 2)], "status": status,
                "created_at": ck(created), "last_used_at": ck(used), "latest_build": build,
                "apps": apps, "create_blockers": [],
            }
        activity.add_refused_creates(self, blocked, M, width, names, salts)
        self._number_builds()

    def _number_builds(self) -> None:
        """Ids in creation order; logs (~20 lines) for failed builds only."""
        self.builds.sort(key=lambda b: b["created_at"])
        width = max(7, len(str(len(self.builds))))
        for n, build in enumerate(self.builds, 1):
            build["id"] = f"bld-{n:0{width}d}"
            self.world.builds[build["id"]] = build
        next_id = 1
        for n, (build, started, name) in enumerate(self.failed_builds):
            start = datetime.fromtimestamp(started, UTC)
            lines = demo_logs.render(demo_logs.SHORT_FAILURE, build, start, next_id, iso,
                                     ws=name, template="python-devcontainer", version="v2.4.1")
            self.world.build_logs[build["id"]] = lines
            next_id += len(lines)
            if n % 2 == 0:
                self.cases["fails_next_build"].append(build["workspace_id"])


def _me(user: Obj, customer: Obj | None) -> Obj:
    return {"user_id": user["id"], "email": user["email"], "name": user["name"],
            "role": user["role"], "customer_id": customer["id"] if customer else None,
            "customer_name": customer["name"] if customer else None}

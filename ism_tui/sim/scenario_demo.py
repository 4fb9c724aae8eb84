"""The demo scenario: thirteen customers, each either healthy or telling one playbook case.

``build(now, seed)`` is pure and deterministic: every timestamp is relative to ``now`` and every
random choice comes from ``random.Random(seed)``. Who holds which case:

- Northwind Health (the ``demo-admin``/``demo-member`` customer): role not mapped (Priya Raman),
  member denied analytics (Tom Becker), consumed invite, target / template alias / user
  provisioning blockers, an internal launch URL, a start that failed at "volume attach" (and
  fails again on retry: ``cases["fails_next_build"]``).
- Kestrel Freight (billing approval pending), Tidewater Games (prepaid balance used up), Lumen
  Studio (managed-AI credit used up), Harbor Legal (SSO incomplete, expired invites).
- Empty analytics: Bluefin Labs (scope; its look-alike Bluefin Labs (EU) has the usage), Orchard
  Analytics (period), Pinecrest Media (reconciliation), Granite Civil (not running), Saffron
  Retail (provider delay).
- Acme Robotics, Bluefin Labs (EU), Copperleaf Energy: healthy, with an internal launch URL each
  in Acme and Bluefin Labs (EU) and a transient agent failure in Acme.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ism_tui.sim import demo_activity, demo_stories
from ism_tui.sim.demo_builder import DemoBuilder, Obj, strip_private
from ism_tui.sim.world import World


def build(now: datetime, seed: int = 7) -> World:
    """The demo World as of ``now`` (an aware datetime; naive means UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    now = now.astimezone(UTC).replace(microsecond=0)
    b = DemoBuilder(now, seed)
    b.add_targets_and_aliases()
    demo_stories.add_all(b)
    b.assign_ids()
    demo_activity.add_usage(b)
    demo_activity.add_periods(b)
    demo_activity.add_audit_trail(b)
    return _world(b)


def me(user: Obj) -> Obj:
    """The ``Me`` wire dict of a user."""
    cust = user["_customer"]
    return {
        "user_id": user["id"], "email": user["email"], "name": user["name"],
        "role": user["role"], "customer_id": cust["id"] if cust else None,
        "customer_name": cust["name"] if cust else None,
    }


def _world(b: DemoBuilder) -> World:
    world = World(now=b.now)
    world.tokens = {token: me(user) for token, user in b.tokens.items()}
    world.customers = {c["id"]: strip_private(c) for c in b.customers}
    world.users = {u["id"]: strip_private(u) for u in b.users}
    world.invites = {i["id"]: strip_private(i) for i in b.invites}
    world.targets = {t["id"]: strip_private(t) for t in b.targets.values()}
    world.templates = {a["id"]: strip_private(a) for a in b.aliases.values()}
    world.builds = {x["id"]: strip_private(x) for x in b.builds}
    world.workspaces = {}
    for ws in b.workspaces:
        wire = strip_private(ws)
        if ws["latest_build"] is not None:  # share the dict, as world.py promises
            wire["latest_build"] = world.builds[ws["latest_build"]["id"]]
        world.workspaces[ws["id"]] = wire
    world.build_logs = b.build_logs
    world.usage = {r["id"]: r for r in b.usage}
    world.usage_periods = {p["id"]: p for p in b.periods}
    world.audit = {a["id"]: a for a in b.audit}
    world.cases = {case: [obj["id"] for obj in objs] for case, objs in b.cases.items()}
    return world

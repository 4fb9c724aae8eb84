"""The simulator's scenarios by name: what ``ism-tui sim --scenario`` and the tests build."""

from __future__ import annotations

from datetime import UTC, datetime

from ism_tui.sim import scenario_demo, scenario_scale
from ism_tui.sim.world import World

DEMO_TOKENS = {
    "demo-operator": "platform operator: every customer, every action",
    "demo-admin": "customer admin of one customer: sees and acts on that customer only",
    "demo-member": "customer member: 403 on analytics and on every action",
}


def build_world(
    scenario: str, *, now: datetime | None = None, seed: int = 7, scale: int = 100_000
) -> World:
    """Build a scenario by name (``demo`` or ``scale``)."""
    now = now or datetime.now(UTC).replace(microsecond=0)
    if scenario == "demo":
        return scenario_demo.build(now=now, seed=seed)
    if scenario == "scale":
        return scenario_scale.build(now=now, seed=seed, workspaces=scale)
    raise ValueError(f"unknown scenario {scenario!r}: choose demo or scale")

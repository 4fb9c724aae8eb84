"""The simulator's data: wire-shaped dicts (exactly what the API serves), built by a scenario.

A scenario is a pure function ``build(now, seed, **options) -> World``
(``ism_tui.sim.scenarios.build_world`` picks one by name). The server
(``ism_tui.sim.server``) serves a World and mutates it through ``ism_tui.sim.state``; tests can
load a World straight into a cache (``tests/conftest.py``) without HTTP.

Conventions every scenario follows:
- Every dict validates against its wire model in ``ism_tui.api.models`` (``model_dump(mode="json")``
  shape: ISO 8601 timestamps with ``Z``, dates as ``YYYY-MM-DD``).
- Ids are strings that sort in creation order within a collection (zero-padded), e.g.
  ``cus-0001``, ``usr-000042``, ``ws-000123``; keyset pagination orders by id.
- ``workspaces[id]["latest_build"]`` is the same dict as ``builds[latest_build_id]``'s content.
- ``cases`` names at least one findable example per playbook case (see ``DEMO_CASES``), so tests
  and the README can point at them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Obj = dict[str, Any]

# Playbook cases the demo scenario must contain, keyed by the triage case id; values in
# ``World.cases`` are lists of subject ids (customer, user, invite or workspace ids).
DEMO_CASES: tuple[str, ...] = (
    "role_not_mapped",
    "member_analytics_expected",
    "invite_consumed",
    "invite_expired",
    "billing_approval_missing",
    "prepaid_balance_missing",
    "ai_credit_missing",
    "target_unavailable",
    "sso_incomplete",
    "template_alias_unavailable",
    "user_provisioning_failed",
    "launch_url_internal",
    "provisioning_failed",
    "analytics_empty:scope",
    "analytics_empty:period",
    "analytics_empty:reconciliation",
    "analytics_empty:not_running",
    "analytics_empty:provider_delay",
)


@dataclass
class World:
    """Everything a simulator serves. Collections map id -> wire dict."""

    now: datetime
    # bearer token -> the ``Me`` wire dict that token authenticates as
    tokens: dict[str, Obj] = field(default_factory=dict)
    customers: dict[str, Obj] = field(default_factory=dict)
    users: dict[str, Obj] = field(default_factory=dict)
    invites: dict[str, Obj] = field(default_factory=dict)
    targets: dict[str, Obj] = field(default_factory=dict)
    templates: dict[str, Obj] = field(default_factory=dict)
    workspaces: dict[str, Obj] = field(default_factory=dict)
    # every build (latest and earlier), by build id
    builds: dict[str, Obj] = field(default_factory=dict)
    # build id -> its log lines (``BuildLog`` dicts, ids increasing)
    build_logs: dict[str, list[Obj]] = field(default_factory=dict)
    usage: dict[str, Obj] = field(default_factory=dict)
    usage_periods: dict[str, Obj] = field(default_factory=dict)
    audit: dict[str, Obj] = field(default_factory=dict)
    # playbook case -> ids of the named examples of it
    cases: dict[str, list[str]] = field(default_factory=dict)

    def collection(self, resource: str) -> dict[str, Obj]:
        """The collection behind a list resource name of ``LIST_RESOURCES``."""
        return getattr(self, resource)  # type: ignore[no-any-return]


"""Routing as the viewer sees it: every case x every role against the playbook's Done-When.

- Customer members escalated setup and billing blockers to a customer admin.
- Customer admins escalated target, runtime, SSO, or billing review blockers to ISM support.
- Whoever may act now (the actions policy) is told which key does it, not to ask someone.
"""

from __future__ import annotations

import pytest
from conftest import FROZEN_NOW, load_world_into_cache

from ism_tui.triage.export import escalating, to_json, to_markdown
from ism_tui.triage.model import Blocker
from ism_tui.triage.playbook import CASES
from ism_tui.triage.routing import route
from ism_tui.triage.store import list_blockers, recompute_blockers, routed

GRACE = "grace.whitfield@northwindhealth.example"
ADMIN_OF = "customer admin " + GRACE
SUPPORT = "ISM support"
BILLING = "ISM support (billing review)"
RUNTIME = "ISM support (runtime)"
YOU = None  # no escalation: the viewer does it (or it is expected)

# (case[, analytics reason]) -> escalate to, for member / customer admin / platform operator,
# when nobody may act now. The table the routing is tested against.
TABLE: dict[str, tuple[str | None, str | None, str | None]] = {
    "role_not_mapped": (ADMIN_OF, SUPPORT, SUPPORT),
    "role_changed_after_sign_in": (ADMIN_OF, SUPPORT, SUPPORT),
    "navigation_stale": (ADMIN_OF, SUPPORT, SUPPORT),
    "member_analytics_expected": (YOU, YOU, YOU),
    "invite_consumed": (ADMIN_OF, YOU, YOU),
    "invite_expired": (ADMIN_OF, YOU, YOU),
    "billing_approval_missing": (ADMIN_OF, BILLING, BILLING),
    "prepaid_balance_missing": (ADMIN_OF, BILLING, BILLING),
    "ai_credit_missing": (ADMIN_OF, BILLING, BILLING),
    "target_unavailable": (ADMIN_OF, SUPPORT, SUPPORT),
    "sso_incomplete": (ADMIN_OF, SUPPORT, SUPPORT),
    "template_alias_unavailable": (ADMIN_OF, SUPPORT, SUPPORT),
    "user_provisioning_failed": (ADMIN_OF, SUPPORT, SUPPORT),
    "launch_url_internal": (ADMIN_OF, SUPPORT, SUPPORT),
    "provisioning_failed": (ADMIN_OF, RUNTIME, RUNTIME),
    "analytics_empty:scope": (ADMIN_OF, YOU, YOU),
    "analytics_empty:period": (ADMIN_OF, YOU, YOU),
    "analytics_empty:not_running": (ADMIN_OF, YOU, YOU),
    "analytics_empty:reconciliation": (ADMIN_OF, SUPPORT, SUPPORT),
    "analytics_empty:provider_delay": (ADMIN_OF, SUPPORT, SUPPORT),
}
ROLES = ("customer_member", "customer_admin", "platform_operator")


def blocker(key: str) -> Blocker:
    case, _, reason = key.partition(":")
    info = CASES[case]
    return Blocker(id=f"{case}:x", case=case, severity=info.severity, subject_type="workspace",
                   subject_id="x", subject_name="x", customer_id="cus-1",
                   customer_name="Northwind Health", summary="s", reason=reason or None,
                   explained_only=info.escalate_to is None)


def test_the_table_covers_every_case() -> None:
    assert {k.partition(":")[0] for k in TABLE} == set(CASES)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("key", sorted(TABLE))
def test_every_case_for_every_role(key: str, role: str) -> None:
    expected = TABLE[key][ROLES.index(role)]
    r = route(blocker(key), role, [GRACE])
    assert r.viewer_role == role
    assert r.escalate_to == expected, r
    if role == "customer_member":
        assert "ISM support" not in (r.escalate_to or ""), "members go through their admin"
        if expected is not None:
            assert GRACE in r.next_step and r.next_step.startswith(("ask", "sign out"))
    if role == "customer_admin" and expected is not None and expected.startswith(SUPPORT):
        assert "ask your customer admin" not in r.next_step


@pytest.mark.parametrize("role", ("customer_admin", "platform_operator"))
@pytest.mark.parametrize("case", ("invite_consumed", "invite_expired"))
def test_who_may_reissue_is_told_to_reissue_not_to_ask(case: str, role: str) -> None:
    r = route(blocker(case), role, [GRACE], allowed=["reissue_invite"])
    assert r.you_can == "`a` reissue" and r.escalate_to is None
    assert "ask" not in r.next_step and "reissue it" in r.next_step
    # in read-only mode the role still may, but this console may not: said so
    ro = route(blocker(case), role, [GRACE], allowed=["reissue_invite"], read_only=True)
    assert ro.you_can is not None and "read-only" in ro.you_can


def test_a_member_is_never_offered_an_action_and_names_the_admins() -> None:
    r = route(blocker("invite_consumed"), "customer_member", [GRACE, "b@x", "c@x"],
              allowed=["reissue_invite"])
    assert r.you_can is None
    assert r.escalate_to == f"customer admin {GRACE}, b@x or 1 more"
    nameless = route(blocker("billing_approval_missing"), "customer_member", [])
    assert nameless.escalate_to == "customer admin" and "your customer admin" in nameless.next_step


def test_failed_provisioning_offers_logs_then_the_allowed_actions() -> None:
    r = route(blocker("provisioning_failed"), "customer_admin", [GRACE],
              allowed=["retry", "delete"])
    assert r.you_can == "`l` build logs, then `a` retry / delete"
    op = route(blocker("provisioning_failed"), "platform_operator", [GRACE],
               allowed=["retry", "delete"])
    assert "operator fallback" in op.next_step


def test_fix_it_yourself_analytics_carry_their_fix() -> None:
    scope = route(blocker("analytics_empty:scope"), "customer_admin")
    assert "customer account that owns the workspaces" in scope.next_step
    recon = route(blocker("analytics_empty:reconciliation"), "customer_admin")
    assert "selected period and reconciliation status" in recon.next_step


def _cache(tmp_path, world, token):  # type: ignore[no-untyped-def]
    from storage.db import make_engine

    engine = make_engine(tmp_path / f"{token}.sqlite")
    load_world_into_cache(engine, world, token)
    recompute_blockers(engine, clock=lambda: FROZEN_NOW)
    return engine


def _by_case(engine) -> dict[str, Blocker]:  # type: ignore[no-untyped-def]
    out: dict[str, Blocker] = {}
    for b in routed(engine, list_blockers(engine)):
        if b.customer_name.startswith("Northwind"):
            out.setdefault(b.case, b)
    return out


def test_the_demo_routes_for_whoever_is_looking(tmp_path, demo_world_session) -> None:
    seen = {who: _by_case(_cache(tmp_path, demo_world_session, f"demo-{who}"))
            for who in ("operator", "admin", "member")}
    member, admin, operator = seen["member"], seen["admin"], seen["operator"]
    # a member escalates the target blocker to their customer admin, by name
    target = member["target_unavailable"].route
    assert target is not None and GRACE in (target.escalate_to or "")
    assert admin["target_unavailable"].escalate_to == SUPPORT
    # the admin who can reissue the consumed invite is told so; the member asks the admin
    assert admin["invite_consumed"].route.you_can == "`a` reissue"  # type: ignore[union-attr]
    assert member["invite_consumed"].route.you_can is None  # type: ignore[union-attr]
    assert GRACE in member["invite_consumed"].route.next_step  # type: ignore[union-attr]
    assert operator["invite_consumed"].route.you_can == "`a` reissue"  # type: ignore[union-attr]
    # routing reaches the JSON and Markdown exports
    record = to_json([admin["invite_consumed"]])
    assert '"you_can": "`a` reissue"' in record
    assert "You can do this now:** `a` reissue" in to_markdown([admin["invite_consumed"]])


def test_a_customer_file_leaves_out_the_explained_member_case(tmp_path,
                                                             demo_world_session) -> None:
    engine = _cache(tmp_path, demo_world_session, "demo-admin")
    every = routed(engine, list_blockers(engine))
    kept = {b.case for b in escalating(every)}
    assert "member_analytics_expected" in {b.case for b in every}
    assert "member_analytics_expected" not in kept and "target_unavailable" in kept

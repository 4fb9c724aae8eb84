"""Create readiness: the seven create blockers found from cached state before any create, in the
queue with their owner, in the customers' readiness column, and in the retry guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import FROZEN_NOW

from ism_tui.actions.service import ActionService
from ism_tui.triage.playbook import CREATE_BLOCKER_CASES
from ism_tui.triage.readiness import customer_readiness, readiness_word
from ism_tui.triage.rules import readiness_fact, subject_rules
from ism_tui.triage.store import blockers_for, list_blockers, recompute_blockers, routed
from storage.queries import CUSTOMERS, USERS
from storage.triage_io import Snapshot

CUSTOMER = {"id": "cus-1", "name": "Kestrel", "billing_approval": "approved",
            "prepaid_seconds_left": 3600, "ai_credit_left": 5.0, "sso_state": "complete",
            "sso_missing_steps": [], "allowed_target_ids": ["tgt-1", "tgt-2"]}
TARGETS = {"tgt-1": {"id": "tgt-1", "name": "eu", "state": "available"},
           "tgt-2": {"id": "tgt-2", "name": "gpu", "state": "unavailable",
                     "state_since": "2026-11-22T02:18:00Z", "state_reason": "no capacity"}}
ALIASES = {"java": {"alias": "java", "state": "deprecated", "template_name": "java8",
                    "template_version": "v1", "state_since": "2026-11-08T09:30:00Z"}}


@pytest.mark.parametrize(("change", "code", "text"), [
    ({"billing_approval": "pending", "billing_approval_updated_at": "2026-11-15T09:30:00Z"},
     "billing_approval_missing", "billing approval pending since 2026-11-15 09:30Z"),
    ({"prepaid_seconds_left": 0}, "prepaid_balance_missing", "no prepaid"),
    ({"ai_credit_left": 0.0}, "ai_credit_missing", "no managed-AI credit"),
    ({"sso_state": "incomplete", "sso_missing_steps": ["Verify the email domain"]},
     "sso_incomplete", "missing Verify the email domain"),
])
def test_customer_wide_blockers_block_every_create(change: dict[str, Any], code: str,
                                                   text: str) -> None:
    found = customer_readiness({**CUSTOMER, **change, "allowed_target_ids": []}, {}, {})
    assert [n.code for n in found] == [code] and text in found[0].message
    assert readiness_word([code])[0] == "blocked"


def test_targets_templates_and_users_limit_some_creates() -> None:
    user = {"id": "usr-1", "email": "dana@x", "provisioning_state": "failed",
            "provisioning_reason": "SCIM 409"}
    found = customer_readiness(CUSTOMER, TARGETS, ALIASES, ["java"], [user])
    assert [(n.code, n.subject_id) for n in found] == [
        ("target_unavailable", "tgt-2"), ("template_alias_unavailable", "java"),
        ("user_provisioning_failed", "usr-1")]
    assert "no capacity" in found[0].message and "deprecated" in found[1].message
    assert readiness_word([n.code for n in found]) == ("limited", "target+")
    # a target or alias the cache does not hold yet is no evidence either way
    assert customer_readiness(CUSTOMER, {k: TARGETS[k] for k in ("tgt-1",)}, {}, ["x"]) == []
    assert readiness_word([]) == ("ready", "")


@pytest.fixture
def triaged(demo_engine):  # type: ignore[no-untyped-def]
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    return demo_engine


def test_readiness_feeds_the_queue_with_owner_before_any_create(triaged) -> None:
    # Copperleaf Energy has tried no create: its readiness blocker is its own line
    _set(triaged, "UPDATE customers SET billing_approval = 'pending', "
                  "billing_approval_updated_at = '2026-11-20T08:00:00Z' "
                  "WHERE name = 'Copperleaf Energy'")
    recompute_blockers(triaged, clock=lambda: FROZEN_NOW)
    ready = {b.id: b for b in routed(triaged, list_blockers(triaged))
             if b.subject_type in ("customer", "user") and b.case in CREATE_BLOCKER_CASES}
    copperleaf = next(b for b in ready.values() if b.case == "billing_approval_missing")
    assert copperleaf.subject_type == "customer" and copperleaf.customer_name == \
        "Copperleaf Energy"
    assert "billing approval pending since 2026-11-20 08:00Z" in copperleaf.summary
    assert copperleaf.escalate_to == "ISM support (billing review)"
    # every other demo readiness blocker is one the Console reported on a create: folded
    assert list(ready) == [copperleaf.id]
    folds = {b.folds: b for b in list_blockers(triaged) if b.folds}
    assert {f.split(":")[0] for f in folds} == {
        "billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
        "sso_incomplete", "target_unavailable", "template_alias_unavailable",
        "user_provisioning_failed"}
    dana = next(b for f, b in folds.items() if f.startswith("user_provisioning_failed:"))
    assert dana.subject_name == "genomics-notebook"
    assert "dana.okafor" in readiness_fact(dana)[0]
    # her user stays flagged, and its pane lists the create blocker that stands for hers
    row = next(r for r in USERS.window(triaged, 0, 5, "dana.okafor is:blocked"))
    assert row["_cases"] == ["user_provisioning_failed"]
    assert [b.id for b in blockers_for(triaged, "user", row["id"])] == [dana.id]


def _ws(n: int, code: str, *, customer: str = "cus-1", target: str = "tgt-1",
        alias: str = "py", owner: str = "usr-2") -> dict[str, Any]:
    return {"id": f"ws-{n}", "name": f"ws-{n}", "customer_id": customer, "owner_user_id": owner,
            "target_id": target, "template_alias": alias, "status": "failed",
            "create_blockers": [{"code": code, "message": f"Console: {code}",
                                 "since": "2026-11-23T10:00:00Z"}],
            "apps": [], "build_job_status": "failed", "build_transition": "start",
            "build_started_at": None, "build_id": None, "updated_at": "2026-11-23T10:00:00Z"}


DANA = {"id": "usr-1", "customer_id": "cus-1", "email": "dana@x", "name": "Dana",
        "provisioning_state": "failed", "provisioning_reason": "SCIM 409",
        "provisioning_updated_at": "2026-11-20T10:00:00Z", "role": "customer_member",
        "idp_role": None, "visible_navigation": [], "role_updated_at": None,
        "last_sign_in_at": None}
PENDING = {"billing_approval": "pending", "billing_approval_updated_at": "2026-11-15T09:30:00Z"}


@pytest.mark.parametrize(("change", "workspaces", "queue", "folds"), [
    # the Console reported what readiness shows: one line, the Console's, carrying it
    (PENDING, [_ws(1, "billing_approval_missing")], {"billing_approval_missing:ws-1"},
     {"billing_approval_missing:ws-1": "billing approval pending since 2026-11-15 09:30Z"}),
    # no create attempt: the readiness blocker stays as it is
    (PENDING, [], {"billing_approval_missing:cus-1"}, {}),
    # approved since the Console's report: nothing to fold, the report stands until a retry
    ({}, [_ws(1, "billing_approval_missing")], {"billing_approval_missing:ws-1"}, {}),
    # another customer's create says nothing about this one
    (PENDING, [_ws(1, "billing_approval_missing", customer="cus-2")],
     {"billing_approval_missing:ws-1", "billing_approval_missing:cus-1"}, {}),
    # a target, alias or user folds only the same one
    ({"allowed_target_ids": ["tgt-2"]}, [_ws(1, "target_unavailable", target="tgt-2")],
     {"target_unavailable:ws-1"}, {"target_unavailable:ws-1": "target gpu unavailable"}),
    ({"allowed_target_ids": ["tgt-2"]}, [_ws(1, "target_unavailable", target="tgt-1")],
     {"target_unavailable:ws-1", "target_unavailable:cus-1:tgt-2"}, {}),
    ({}, [_ws(1, "template_alias_unavailable", alias="java")],
     {"template_alias_unavailable:ws-1"},
     {"template_alias_unavailable:ws-1": "template alias java (java8 v1) is deprecated"}),
    ({"dana": True}, [_ws(1, "user_provisioning_failed", owner="usr-1")],
     {"user_provisioning_failed:ws-1"},
     {"user_provisioning_failed:ws-1": "provisioning failed for dana@x"}),
    ({"dana": True}, [_ws(1, "user_provisioning_failed", owner="usr-2")],
     {"user_provisioning_failed:ws-1", "user_provisioning_failed:usr-1"}, {}),
    # two creates blocked by one pending approval: both carry it, no readiness line
    (PENDING, [_ws(1, "billing_approval_missing"), _ws(2, "billing_approval_missing")],
     {"billing_approval_missing:ws-1", "billing_approval_missing:ws-2"},
     {"billing_approval_missing:ws-1": "billing approval pending",
      "billing_approval_missing:ws-2": "billing approval pending"}),
])
def test_a_create_blocker_the_console_reported_folds_the_same_readiness_blocker(
        change: dict[str, Any], workspaces: list[dict[str, Any]], queue: set[str],
        folds: dict[str, str]) -> None:
    change = dict(change)
    users = [DANA] if change.pop("dana", False) else []
    customers = {"cus-1": {**CUSTOMER, "allowed_target_ids": [], **change},
                 "cus-2": {**CUSTOMER, "id": "cus-2", "name": "Other", "allowed_target_ids": []}}
    snap = Snapshot(customers=customers, users=users, workspaces=workspaces, targets=TARGETS,
                    aliases=ALIASES, aliases_in_use={w["customer_id"]: {w["template_alias"]}
                                                     for w in workspaces})
    found = {b.id: b for b in subject_rules(snap)}
    assert set(found) == queue
    carried = {i: readiness_fact(b)[0] for i, b in found.items() if b.folds}
    assert carried.keys() == folds.keys()
    for bid, text in folds.items():
        assert text in carried[bid]
        b = found[bid]
        assert b.summary.startswith(f"create of {b.subject_name} is blocked: Console:")
        assert b.evidence[0].field.startswith("workspace.create_blockers.")  # Console's first


def test_the_customers_table_shows_readiness(triaged) -> None:
    rows = {r["name"]: r for r in CUSTOMERS.window(triaged, 0, 50)}
    word = {name: readiness_word(str(r["not_ready"] or "").split(",")) for name, r in
            rows.items()}
    assert word["Kestrel Freight"] == ("blocked", "billing")
    assert word["Harbor Legal"] == ("blocked", "SSO")
    assert word["Northwind Health"] == ("limited", "target+")
    assert word["Copperleaf Energy"] == ("ready", "")


@dataclass
class FakeServices:
    engine: Any
    read_only: bool = False
    profile: str = "test"


def _set(engine, sql: str, **params: Any) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_retry_waits_for_the_cached_readiness_not_the_old_report(triaged) -> None:
    service = ActionService(FakeServices(triaged), clock=lambda: FROZEN_NOW)
    plan = service.plan("retry", "route-optimizer-dev")
    assert not plan.allowed and "Billing approval for Kestrel Freight is pending" in plan.reason
    # billing approved since: the Console's report on the workspace is older than that
    _set(triaged, "UPDATE customers SET billing_approval = 'approved' "
                  "WHERE name = 'Kestrel Freight'")
    assert service.plan("retry", "route-optimizer-dev").allowed
    # a healthy failed create whose target became unavailable must not be retried
    _set(triaged, "UPDATE targets SET state = 'unavailable' WHERE id = "
                  "(SELECT target_id FROM workspaces WHERE name = 'imaging-pipeline')")
    plan = service.plan("retry", "imaging-pipeline")
    assert not plan.allowed and "unavailable" in plan.reason


def test_a_folded_readiness_blocker_keeps_its_trail_mark_and_is_not_resolved(
        triaged, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ism_tui.triage.trail import Trail
    from storage.trail import TrailStore, trail_path
    from storage.triage_io import blocker_heads

    kestrel = "billing_approval_missing:cus-0013"
    trail = Trail(TrailStore(trail_path(tmp_path / "p.sqlite3")), lambda: "lead@x",
                  lambda: FROZEN_NOW)
    # the trail as a version without folding left it: Kestrel's readiness on its own line
    own_line = {"blocker_id": kestrel, "case": "billing_approval_missing", "severity": 3,
                "customer_id": "cus-0013", "customer": "Kestrel Freight",
                "subject": "customer cus-0013", "summary": "billing approval pending",
                "since": "2026-11-15T09:30:00Z"}
    trail.record_sync([*blocker_heads(triaged), own_line])
    trail.set_state(kestrel, None, "working")
    changes = trail.record_cache(triaged)  # folded into route-optimizer-dev's create blocker
    assert changes.empty and trail.store.mark(kestrel)["present"] == 1
    # the create blocker goes (its workspace deleted): the readiness one is back, still worked
    _set(triaged, "DELETE FROM workspaces WHERE name = 'route-optimizer-dev'")
    recompute_blockers(triaged, clock=lambda: FROZEN_NOW)
    changes = trail.record_cache(triaged)
    assert [r["blocker_id"] for r in changes.resolved] == ["billing_approval_missing:ws-000121"]
    assert not changes.appeared and not changes.reopened
    assert trail.store.mark(kestrel)["state"] == "working"


def _blockers(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, payload FROM blockers")).all())


@pytest.mark.parametrize(("sql", "scope"), [
    # one of two blocked creates clears: the other still folds Kestrel's readiness
    ("UPDATE workspaces SET create_blockers = '[]', updated_at = 'x' WHERE id = 'ws-000121'",
     {"workspaces": {"ws-000121"}}),
    # dana's provisioning reason moved: the create blocker that folds it carries the new one
    ("UPDATE users SET provisioning_reason = 'SCIM 500' WHERE email LIKE 'dana.okafor@%'",
     {"users": "dana"}),
    # dana provisioned: her folded readiness goes, the Console's report stays until a retry
    ("UPDATE users SET provisioning_state = 'provisioned' WHERE email LIKE 'dana.okafor@%'",
     {"users": "dana"}),
])
def test_a_scoped_recompute_folds_as_a_full_one(triaged, sql: str,
                                                scope: dict[str, Any]) -> None:
    from storage.triage_io import Scope

    _set(triaged, "INSERT INTO workspaces SELECT 'ws-twin', name || '-2', owner_user_id, "
                  + ", ".join(_workspace_columns(triaged)[3:]) + " FROM workspaces "
                  "WHERE id = 'ws-000121'")
    recompute_blockers(triaged, clock=lambda: FROZEN_NOW)
    _set(triaged, sql)
    if scope.get("users") == "dana":
        from sqlalchemy import text

        with triaged.connect() as conn:
            scope = {"users": {conn.execute(text(
                "SELECT id FROM users WHERE email LIKE 'dana.okafor@%'")).scalar_one()}}
    recompute_blockers(triaged, clock=lambda: FROZEN_NOW, scope=Scope(**scope))
    scoped = _blockers(triaged)
    recompute_blockers(triaged, clock=lambda: FROZEN_NOW)
    assert scoped == _blockers(triaged)


def _workspace_columns(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(workspaces)")]

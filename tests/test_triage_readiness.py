"""Create readiness: the seven create blockers found from cached state before any create, in the
queue with their owner, in the customers' readiness column, and in the retry guard."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from conftest import FROZEN_NOW

from ism_tui.actions.service import ActionService
from ism_tui.triage.readiness import customer_readiness, readiness_word
from ism_tui.triage.store import list_blockers, recompute_blockers, routed
from storage.queries import CUSTOMERS

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
    ready = {b.id: b for b in routed(triaged, list_blockers(triaged))
             if b.subject_type in ("customer", "user") and b.case != "analytics_empty"}
    kestrel = next(b for b in ready.values() if b.case == "billing_approval_missing")
    assert kestrel.subject_type == "customer" and kestrel.customer_name == "Kestrel Freight"
    assert "billing approval pending since" in kestrel.summary
    assert kestrel.escalate_to == "ISM support (billing review)"
    cases = {b.case for b in ready.values()}
    assert {"billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
            "sso_incomplete", "target_unavailable", "template_alias_unavailable",
            "user_provisioning_failed"} <= cases
    dana = next(b for b in ready.values() if b.case == "user_provisioning_failed")
    assert dana.subject_type == "user" and "dana.okafor" in dana.subject_name


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

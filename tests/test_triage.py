"""Every playbook case is found in the demo scenario, with the right owner and fields."""

from __future__ import annotations

import json

import pytest
from conftest import FROZEN_NOW
from fresh_python import imports_none_of

from ism_tui.triage.export import to_json, to_markdown
from ism_tui.triage.playbook import CASES, CREATE_BLOCKER_CASES
from ism_tui.triage.queue import group_by_customer
from ism_tui.triage.store import (
    blockers_for,
    get_blocker,
    list_blockers,
    recompute_blockers,
)


@pytest.fixture
def triaged(demo_engine):  # type: ignore[no-untyped-def]
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    return demo_engine


def only(engine, case: str, subject_id: str):  # type: ignore[no-untyped-def]
    found = [b for b in list_blockers(engine, case=case) if b.subject_id == subject_id]
    assert found, f"{case} not found for {subject_id}"
    return found[0]


@pytest.mark.parametrize("case", CREATE_BLOCKER_CASES)
def test_each_create_blocker_is_found_with_owner_and_fields(triaged, demo_world_session,
                                                            case: str) -> None:
    for ws_id in demo_world_session.cases[case]:
        b = only(triaged, case, ws_id)
        assert b.severity == 3 and b.subject_type == "workspace"
        assert set(b.escalation) == {"customer", "workspace", "blocker", "blocker_message",
                                     "since"}
        assert b.escalation["blocker"] == case and b.escalation["since"]
        assert "Retry only after the blocker is resolved." in b.steps
    owners = {"target_unavailable": "ISM support", "template_alias_unavailable": "ISM support",
              "user_provisioning_failed": "ISM support"}
    assert b.owner == owners.get(case, "customer admin")


def test_role_not_mapped_carries_the_playbook_fields(triaged, demo_world_session) -> None:
    b = only(triaged, "role_not_mapped", demo_world_session.cases["role_not_mapped"][0])
    assert b.subject_name == "Priya Raman" and b.owner == "customer admin"
    assert b.escalate_to == "ISM support"
    f = b.escalation
    assert f["user_email"] == "priya.raman@northwindhealth.example"
    assert f["expected_role"] == "customer_admin" and "Analytics" not in f["visible_navigation"]
    assert f["approx_sign_in_time"] and "Northwind Health" in f["customer"]


def test_member_asking_for_analytics_is_explained_never_escalated(triaged,
                                                                  demo_world_session) -> None:
    b = only(triaged, "member_analytics_expected",
             demo_world_session.cases["member_analytics_expected"][0])
    assert b.explained_only and b.escalate_to is None and b.severity == 0
    assert "expected" in to_markdown([b])


@pytest.mark.parametrize("case", ["invite_consumed", "invite_expired"])
def test_consumed_and_expired_invites(triaged, demo_world_session, case: str) -> None:
    for inv in demo_world_session.cases[case]:
        b = only(triaged, case, inv)
        assert b.escalation["invite_state"] == case.removeprefix("invite_")
        assert set(b.escalation) == {"email", "customer", "invite_state", "expires_at"}


def test_internal_launch_urls_report_the_host_only(triaged, demo_world_session) -> None:
    hosts = {only(triaged, "launch_url_internal", ws).escalation["url_host"]
             for ws in demo_world_session.cases["launch_url_internal"]}
    assert "10.12.4.7" in hosts and "127.0.0.1" in hosts
    assert all("/" not in h and "?" not in h for h in hosts)


def test_failed_after_provisioning_has_stage_and_last_log_lines(triaged) -> None:
    b = only(triaged, "provisioning_failed", "ws-000088")
    assert b.escalation["failing_stage"] == "volume attach"
    assert len(b.escalation["last_log_lines"]) == 8
    assert any("volume attach" in line for line in b.escalation["last_log_lines"])
    assert "Do not manually delete storage." in b.steps


@pytest.mark.parametrize("reason", ["scope", "period", "reconciliation", "not_running",
                                    "provider_delay"])
def test_each_empty_analytics_reason_is_diagnosed(triaged, demo_world_session,
                                                  reason: str) -> None:
    cid = demo_world_session.cases[f"analytics_empty:{reason}"][0]
    b = only(triaged, "analytics_empty", cid)
    assert b.reason == reason
    assert b.escalation["selected_period"] and b.escalation["reconciliation_status"]


def test_queue_groups_by_customer_most_severe_first(triaged) -> None:
    groups = group_by_customer(list_blockers(triaged))
    assert groups[0].worst == 3
    for g in groups:
        sev = [b.severity for b in g.blockers]
        assert sev == sorted(sev, reverse=True)
    assert [g.worst for g in groups] == sorted((g.worst for g in groups), reverse=True)


def test_lookups_for_tables_and_actions(triaged) -> None:
    assert blockers_for(triaged, "workspace", "ws-000121")[0].case == \
        "billing_approval_missing"
    assert get_blocker(triaged, "role_not_mapped:usr-000083") is not None


def test_every_case_is_found_in_the_demo(triaged) -> None:
    assert {b.case for b in list_blockers(triaged)} == set(CASES)


def test_exports_hold_fields_freshness_and_time(triaged) -> None:
    blockers = list_blockers(triaged, customer_id="cus-0006")
    data = json.loads(to_json(blockers, freshness="synced 2026-11-24T09:14Z",
                              exported_at=FROZEN_NOW))
    first = data["escalations"][0]
    assert first["cache_freshness"] == "synced 2026-11-24T09:14Z"
    assert first["exported_at"] == "2026-11-24T09:30:00Z"
    assert set(first["fields"]) == set(CASES[first["case"]].fields)
    md = to_markdown(blockers, freshness="x")
    assert "Done when:" in md and "- [ ] You read the blocker message before retrying." in md


def test_rules_import_neither_textual_nor_httpx() -> None:
    imports_none_of(["ism_tui.triage.rules", "ism_tui.triage.store", "ism_tui.triage.export"],
                    ("textual", "httpx"))


def test_blockers_computed_while_usage_lands_see_that_usage(demo_engine) -> None:
    """A sync lets the rules run while its usage is still being written; ``wait`` is the
    moment that usage has landed. The blockers come out as on a cache whose usage was there
    from the start: no analytics diagnosis reads the cache before the wait."""
    from sqlalchemy import text

    def blockers() -> dict[str, str]:
        with demo_engine.connect() as conn:
            return dict(conn.execute(text("SELECT id, payload FROM blockers")).all())

    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    expected = blockers()
    with demo_engine.begin() as conn:
        conn.execute(text("CREATE TABLE usage_landing AS SELECT * FROM usage"))
        conn.execute(text("DELETE FROM usage"))
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    assert blockers() != expected  # without its usage the cache diagnoses otherwise

    def usage_lands() -> None:
        with demo_engine.begin() as conn:
            conn.execute(text("INSERT OR IGNORE INTO usage SELECT * FROM usage_landing"))

    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW, wait=usage_lands)
    assert blockers() == expected

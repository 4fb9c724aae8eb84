"""The issue's smaller playbook items: invite steps, cached build logs in the export, the
empty-analytics blocker's fix, and the retry label."""

from __future__ import annotations

from conftest import FROZEN_NOW

from ism_tui.actions.build_logs import _retriage
from ism_tui.triage.playbook import CASES
from ism_tui.triage.store import list_blockers, recompute_blockers, routed
from screens.actions import label

FOUR = ("Sign out of the identity provider.", "Reopen the invite.",
        "Complete the invite acceptance flow.", "Open Console directly after acceptance.")


def test_expired_invites_keep_the_four_invite_steps() -> None:
    for case in ("invite_consumed", "invite_expired"):
        assert CASES[case].steps[:4] == FOUR
        assert "reissue" in CASES[case].steps[4]


def test_the_failed_create_export_quotes_logs_fetched_after_the_sync(demo_engine) -> None:
    from sqlalchemy import text

    with demo_engine.begin() as conn:
        build = conn.execute(text("SELECT build_id FROM workspaces "
                                  "WHERE name = 'imaging-pipeline'")).scalar_one()
        kept = [dict(r) for r in conn.execute(text(
            "SELECT * FROM build_logs WHERE build_id = :b"), {"b": build}).mappings()]
        conn.execute(text("DELETE FROM build_logs WHERE build_id = :b"), {"b": build})
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)

    def lines() -> list[str]:
        found = [b for b in list_blockers(demo_engine, case="provisioning_failed")
                 if b.subject_name == "imaging-pipeline"]
        return list(found[0].escalation["last_log_lines"])

    assert "logs not fetched yet" in lines()[0]
    with demo_engine.begin() as conn:  # what the build log viewer stores when it fetches
        conn.execute(text("INSERT INTO build_logs (build_id, id, created_at, stage, level, "
                          "output) VALUES (:build_id, :id, :created_at, :stage, :level, "
                          ":output)"), kept)
    _retriage(demo_engine, build)
    assert "not fetched" not in " ".join(lines()) and any("error" in x for x in lines())


def test_an_empty_analytics_blocker_carries_its_fix_and_routes_by_reason(demo_engine) -> None:
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    found = {b.reason: b for b in routed(demo_engine,
                                         list_blockers(demo_engine, case="analytics_empty"))}
    assert found["scope"].escalation["fix"].startswith("Select the customer account")
    assert found["scope"].escalate_to is None
    assert found["reconciliation"].escalate_to == "ISM support"
    assert found["reconciliation"].escalation["selected_period"]


def test_retry_is_labelled_for_the_create_it_would_retry() -> None:
    assert label("retry", "failed") == "Retry the failed create"
    assert label("retry", "pending") == "Retry the blocked create"
    assert label("retry", "running") == "Retry the create"


def test_sign_in_checks_flag_a_role_changed_since_and_stale_admin_navigation(
        demo_engine, demo_world_session) -> None:
    recompute_blockers(demo_engine, clock=lambda: FROZEN_NOW)
    users = demo_world_session.users
    found = {b.case: b for b in list_blockers(demo_engine)
             if b.case in ("role_changed_after_sign_in", "navigation_stale")}
    changed = found["role_changed_after_sign_in"]
    promoted = users[demo_world_session.cases["role_changed_after_sign_in"][0]]
    assert changed.subject_id == promoted["id"] and "sign out and back in" in changed.summary
    assert changed.escalation["role_changed_at"] > changed.escalation["approx_sign_in_time"]
    stale = found["navigation_stale"]
    assert "lacks Account setup, Analytics" in stale.summary
    # "Account Setup" is the admin item, whatever its case: that admin is not flagged
    spelled = [u["id"] for u in users.values() if "Account Setup" in u["visible_navigation"]]
    assert spelled and not [b for b in list_blockers(demo_engine)
                            if b.subject_id in spelled]

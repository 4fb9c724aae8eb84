"""The action policy as a table: role x subject state x blockers -> allowed, or the exact reason."""

from __future__ import annotations

from typing import Any

import pytest

from ism_tui.actions.policy import (
    ALLOWED,
    READ_ONLY_REASON,
    available_actions,
    decide,
)

OPERATOR = {"role": "platform_operator", "customer_id": None, "email": "sam@ism.example"}
ADMIN = {"role": "customer_admin", "customer_id": "cus-1", "email": "grace@nw.example"}
OTHER_ADMIN = {"role": "customer_admin", "customer_id": "cus-2", "email": "kim@other.example"}
MEMBER = {"role": "customer_member", "customer_id": "cus-1", "email": "tom@nw.example"}

OTHER_CUSTOMER = "customer admins can act only on their own customer; this belongs to another one"
MEMBER_REASON = "customer members cannot act: ask your customer admin grace@nw.example"


def ws(status: str, transition: str | None = None, job: str | None = None,
       blockers: str = "[]") -> dict[str, Any]:
    return {
        "id": "ws-1", "name": "payments-api-dev", "customer_id": "cus-1",
        "owner_user_id": "usr-1", "owner_email": "alice@nw.example", "status": status,
        "build_id": "bld-1" if job else None, "build_transition": transition,
        "build_job_status": job, "create_blockers": blockers,
    }


def inv(state: str, replaced_by: str | None = None) -> dict[str, Any]:
    return {"id": "inv-1", "email": "nina@nw.example", "customer_id": "cus-1", "state": state,
            "expires_at": "2026-11-29T09:30:00.000000Z", "replaced_by": replaced_by}


SSO = {"case": "sso_incomplete", "summary": "SSO setup is incomplete: SCIM not configured"}
BLOCKED = '[{"code": "sso_incomplete", "message": "SSO incomplete", "since": null}]'

RUNNING = ws("running", "start", "succeeded")
STOPPED = ws("stopped", "stop", "succeeded")
STARTING = ws("starting", "start", "running")
QUEUED = ws("pending", "start", "pending")
CANCELING = ws("canceling", "start", "canceling")
FAILED_START = ws("failed", "start", "failed")
FAILED_STOP = ws("failed", "stop", "failed")
CANCELED = ws("canceled", "start", "canceled")
BLOCKED_CREATE = ws("pending", blockers=BLOCKED)
DELETED = ws("deleted", "delete", "succeeded")

TABLE: list[tuple[str, dict[str, Any], dict[str, Any], list[Any], str]] = [
    # --- who
    ("stop", MEMBER, RUNNING, [], MEMBER_REASON),
    ("reissue_invite", MEMBER, inv("expired"), [], MEMBER_REASON),
    ("stop", OTHER_ADMIN, RUNNING, [], OTHER_CUSTOMER),
    ("reissue_invite", OTHER_ADMIN, inv("consumed"), [], OTHER_CUSTOMER),
    ("stop", ADMIN, RUNNING, [], ALLOWED),
    ("stop", OPERATOR, RUNNING, [], ALLOWED),
    ("stop", {"role": "auditor"}, RUNNING, [], "unknown role 'auditor': cannot act"),
    # --- cancel: only pending/running builds
    ("cancel", OPERATOR, STARTING, [], ALLOWED),
    ("cancel", ADMIN, QUEUED, [], ALLOWED),
    ("cancel", OPERATOR, RUNNING, [],
     "cancel applies only to a pending or running build (latest build is start succeeded)"),
    ("cancel", OPERATOR, CANCELING, [],
     "cancel applies only to a pending or running build (latest build is start canceling)"),
    ("cancel", OPERATOR, BLOCKED_CREATE, [],
     "cancel applies only to a pending or running build (workspace has no build)"),
    # --- retry: failed create, or blocked create once the blocker is resolved
    ("retry", OPERATOR, FAILED_START, [], ALLOWED),
    ("retry", ADMIN, BLOCKED_CREATE, [], ALLOWED),
    ("retry", OPERATOR, BLOCKED_CREATE, [SSO],
     "retry only after the blocker is resolved: SSO setup is incomplete: SCIM not configured"),
    ("retry", OPERATOR, FAILED_START, [{"code": "target_unavailable",
                                        "message": "Target us-west-gpu is unavailable"}],
     "retry only after the blocker is resolved: Target us-west-gpu is unavailable"),
    ("retry", OPERATOR, FAILED_START, [{"case": "launch_url_internal", "summary": "x"}], ALLOWED),
    ("retry", OPERATOR, RUNNING, [],
     "retry applies only to a failed create or a blocked create "
     "(workspace is running, latest build is start succeeded)"),
    ("retry", OPERATOR, FAILED_STOP, [],
     "retry applies only to a failed create or a blocked create "
     "(workspace is failed, latest build is stop failed)"),
    ("retry", MEMBER, BLOCKED_CREATE, [SSO], MEMBER_REASON),
    # --- stop: only running
    ("stop", OPERATOR, STOPPED, [],
     "stop applies only to a running workspace (workspace is stopped)"),
    ("stop", OPERATOR, STARTING, [],
     "stop applies only to a running workspace (workspace is starting)"),
    # --- start: only stopped/failed/canceled
    ("start", OPERATOR, STOPPED, [], ALLOWED),
    ("start", OPERATOR, FAILED_STOP, [], ALLOWED),
    ("start", OPERATOR, CANCELED, [], ALLOWED),
    ("start", OPERATOR, RUNNING, [],
     "start applies only to a stopped, failed or canceled workspace (workspace is running)"),
    # --- delete: never while a build runs
    ("delete", OPERATOR, STOPPED, [], ALLOWED),
    ("delete", ADMIN, FAILED_START, [], ALLOWED),
    ("delete", OPERATOR, RUNNING, [], ALLOWED),
    ("delete", OPERATOR, STARTING, [],
     "delete is refused while a build runs (latest build is start running): cancel it first"),
    ("delete", OPERATOR, QUEUED, [],
     "delete is refused while a build runs (latest build is start pending): cancel it first"),
    ("delete", OPERATOR, CANCELING, [],
     "delete is refused while a build runs (latest build is start canceling): cancel it first"),
    ("delete", OPERATOR, DELETED, [], "workspace is deleted"),
    # --- reissue: consumed / expired / revoked, not already replaced
    ("reissue_invite", OPERATOR, inv("consumed"), [], ALLOWED),
    ("reissue_invite", ADMIN, inv("expired"), [], ALLOWED),
    ("reissue_invite", OPERATOR, inv("revoked"), [], ALLOWED),
    ("reissue_invite", OPERATOR, inv("pending"), [],
     "reissue applies only to a consumed, expired or revoked invite (invite is pending)"),
    ("reissue_invite", OPERATOR, inv("accepted"), [],
     "reissue applies only to a consumed, expired or revoked invite (invite is accepted)"),
    ("reissue_invite", OPERATOR, inv("expired", replaced_by="inv-9"), [],
     "invite was already replaced by inv-9"),
    # --- wrong kind of subject
    ("reissue_invite", OPERATOR, RUNNING, [],
     "reissue_invite applies to invites, not to workspace"),
    ("stop", OPERATOR, inv("expired"), [], "stop applies to workspaces, not to invite"),
]


@pytest.mark.parametrize(
    ("action", "actor", "subject", "blockers", "expected"), TABLE,
    ids=[f"{i}-{row[0]}" for i, row in enumerate(TABLE)],
)
def test_policy_table(action, actor, subject, blockers, expected) -> None:
    decision = decide(action, actor, subject, blockers, read_only=False,
                      customer_admins=["grace@nw.example"])
    assert decision.reason == expected
    assert decision.allowed is (expected == ALLOWED)


@pytest.mark.parametrize("action", ["reissue_invite", "retry", "cancel", "start", "stop", "delete"])
def test_read_only_refuses_every_action_even_for_an_operator(action) -> None:
    subject = inv("expired") if action == "reissue_invite" else FAILED_START
    decision = decide(action, OPERATOR, subject, read_only=True)
    assert (decision.allowed, decision.reason) == (False, READ_ONLY_REASON)


def test_member_refusal_without_known_admins_still_says_who_to_ask() -> None:
    reason = decide("start", MEMBER, STOPPED).reason
    assert reason == "customer members cannot act: ask your customer admin"


def test_unknown_action_is_refused_with_the_choices() -> None:
    d = decide("explode", OPERATOR, RUNNING)
    assert not d.allowed
    assert "choose one of reissue_invite, retry, cancel, start, stop, delete" in d.reason


def test_available_actions_lists_every_workspace_action_with_refused_ones_explained() -> None:
    listed = dict(available_actions(ADMIN, RUNNING, []))
    assert list(listed) == ["retry", "cancel", "start", "stop", "delete"]
    assert listed["stop"].allowed and listed["delete"].allowed
    assert not listed["start"].allowed
    assert listed["start"].reason.startswith("start applies only to a stopped")
    assert [a for a, _ in available_actions(ADMIN, inv("expired"))] == ["reissue_invite"]


def test_policy_accepts_pydantic_me_and_real_cached_rows(demo_engine, demo_world_session) -> None:
    from sqlalchemy import text

    from ism_tui.api.models import Me

    world = demo_world_session
    admin = Me.model_validate(world.tokens["demo-admin"])
    failed_id = world.cases["fails_next_build"][0]
    with demo_engine.connect() as conn:
        row = dict(conn.execute(text("SELECT * FROM workspaces WHERE id=:i"),
                                {"i": failed_id}).mappings().one())
    assert decide("retry", admin, row).allowed
    assert decide("stop", admin, row).reason.startswith("stop applies only to a running")
    # the Acme workspace that also failed belongs to another customer
    acme = next(i for i in world.cases["provisioning_failed"] if i != failed_id)
    with demo_engine.connect() as conn:
        other = dict(conn.execute(text("SELECT * FROM workspaces WHERE id=:i"),
                                  {"i": acme}).mappings().one())
    assert decide("retry", admin, other).reason == OTHER_CUSTOMER

"""ActionService guards without a network: a recording client stands in for the Console so the
tests can count calls, inject a dropped connection or a 409, and read the audit rows written.

The same behaviours are checked end to end against the simulator in test_actions_sim.py.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ism_tui.actions.service import CONFIRMED_BY_FLAG, ActionService
from ism_tui.api import models as m
from storage.audit import attempt_entries, list_audit

FROZEN_NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)  # conftest's frozen demo "now"
RUNNING_WS = "ws-000045"  # Northwind consent-service-v2, running
STOPPED_WS = "ws-000032"  # Northwind claims-portal-dev, stopped
CONSUMED_INVITE = "inv-000092"


class Conflict(Exception):
    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unavailable(Exception):
    retry_after = 0.01


@dataclass
class RecordingClient:
    """Answers action POSTs like the Console would, recording (method, id, key)."""

    calls: list[tuple[str, str, str]] = field(default_factory=list)
    fail_first: list[BaseException] = field(default_factory=list)
    results: dict[str, m.ActionResult] = field(default_factory=dict)
    gate: asyncio.Event | None = None  # when set, each answer waits for it to open

    async def __aenter__(self) -> RecordingClient:
        return self

    async def __aexit__(self, *exc: Any) -> None:
        return None

    async def _answer(self, method: str, object_id: str, key: str,
                      make: Any) -> m.ActionResult:
        self.calls.append((method, object_id, key))
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_first:
            raise self.fail_first.pop(0)
        if key not in self.results:  # replayed key -> first result, as the contract says
            self.results[key] = make()
        return self.results[key]

    async def create_build(self, ws_id: str, transition: str, *,
                           idempotency_key: str) -> m.ActionResult:
        def make() -> m.ActionResult:
            build = m.Build(id=f"bld-new-{len(self.results)}", workspace_id=ws_id,
                            build_number=99, transition=transition, job_status="pending",
                            created_at=FROZEN_NOW)
            return m.ActionResult(request_id=f"req-{len(self.results)}", build=build)
        return await self._answer("create_build", ws_id, idempotency_key, make)

    async def reissue_invite(self, invite_id: str, *, idempotency_key: str) -> m.ActionResult:
        def make() -> m.ActionResult:
            invite = m.Invite(id="inv-new", updated_at=FROZEN_NOW, email="nina.haddad@"
                              "northwindhealth.example", customer_id="cus-0006",
                              state="pending", created_at=FROZEN_NOW,
                              expires_at=FROZEN_NOW + timedelta(days=7))
            return m.ActionResult(request_id="req-inv", invite=invite)
        return await self._answer("reissue_invite", invite_id, idempotency_key, make)


@dataclass
class FakeServices:
    engine: Any
    client_impl: RecordingClient
    read_only: bool = False
    profile: str = "test"

    def client(self) -> RecordingClient:
        return self.client_impl


@pytest.fixture
def client() -> RecordingClient:
    return RecordingClient()


@pytest.fixture
def service(demo_engine, client) -> ActionService:
    return ActionService(FakeServices(demo_engine, client), clock=lambda: FROZEN_NOW,
                         retry_wait=0.01)


def _row(engine, ws_id: str) -> dict[str, Any]:
    from sqlalchemy import text

    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT * FROM workspaces WHERE id=:i"),
                                 {"i": ws_id}).mappings().one())


def test_stop_sends_once_audits_and_updates_the_cache(service, client, demo_engine) -> None:
    plan = service.plan("stop", "consent-service-v2")
    assert plan.allowed and plan.target_id == RUNNING_WS
    assert plan.description == ("Stop workspace consent-service-v2 of Northwind Health "
                                "(owner farid.nakamura@northwindhealth.example)")
    out = asyncio.run(service.execute(plan, "modal"))
    assert out.ok and out.request_id == "req-0"
    assert out.message == ("Stop requested for workspace consent-service-v2: "
                           "build #99 (stop) is pending")
    assert client.calls == [("create_build", RUNNING_WS, plan.idempotency_key)]
    rows = attempt_entries(demo_engine, plan.idempotency_key)
    assert [(r.result, r.request_id) for r in rows] == [("confirmed", None), ("succeeded", "req-0")]
    assert rows[0].actor == "sam.rivera@ism.example.com" and rows[0].profile == "test"
    assert _row(demo_engine, RUNNING_WS)["status"] == "stopping"
    # the cache now says stopping: pressing stop again is refused locally
    again = service.plan("stop", RUNNING_WS)
    assert again.reason == "stop applies only to a running workspace (workspace is stopping)"


def test_double_press_and_re_execute_act_once(service, client) -> None:
    plan = service.plan("start", STOPPED_WS)

    async def twice() -> list[Any]:
        client.gate = asyncio.Event()
        pressed = asyncio.create_task(service.execute(plan, "modal"))
        while not client.calls:  # the first press reached the Console and waits for it
            await asyncio.sleep(0)
        again = asyncio.create_task(service.execute(plan, "modal"))
        await asyncio.sleep(0)
        client.gate.set()
        return list(await asyncio.gather(pressed, again))

    first, second = asyncio.run(twice())
    assert first is second and first.ok
    assert asyncio.run(service.execute(plan, "modal")) is first
    assert len(client.calls) == 1


def test_network_retry_reuses_the_idempotency_key(service, client, demo_engine) -> None:
    client.fail_first = [Unavailable("connection dropped")]
    plan = service.plan("start", STOPPED_WS)
    out = asyncio.run(service.execute(plan, "modal"))
    assert out.ok
    assert [c[2] for c in client.calls] == [plan.idempotency_key] * 2
    assert [r.result for r in attempt_entries(demo_engine, plan.idempotency_key)] == [
        "confirmed", "succeeded"]


def test_exhausted_retries_fail_and_the_same_plan_may_be_sent_again(service, client) -> None:
    client.fail_first = [Unavailable("down")] * 3
    plan = service.plan("start", STOPPED_WS)
    out = asyncio.run(service.execute(plan, "modal"))
    assert out.status == "failed" and isinstance(out.error, Unavailable)
    assert out.message == "Could not start claims-portal-dev: down"
    again = asyncio.run(service.execute(plan, "modal"))
    assert again.ok
    assert {c[2] for c in client.calls} == {plan.idempotency_key}


def test_conflict_keeps_the_server_reason_and_the_typed_error(service, client,
                                                              demo_engine) -> None:
    client.fail_first = [Conflict("cannot start: workspace is running")]
    plan = service.plan("start", STOPPED_WS)
    out = asyncio.run(service.execute(plan, "modal"))
    assert out.status == "failed" and isinstance(out.error, Conflict)
    assert out.message == ("Console refused to start claims-portal-dev: "
                           "cannot start: workspace is running")
    assert len(client.calls) == 1  # a 409 is an answer, not a network problem: no resend
    last = list_audit(demo_engine, limit=1)[0]
    assert (last.result, last.reason) == ("failed", out.message)


def test_read_only_refuses_before_any_call(demo_engine, client) -> None:
    service = ActionService(FakeServices(demo_engine, client, read_only=True))
    plan = service.plan("stop", RUNNING_WS)
    assert not plan.allowed
    out = asyncio.run(service.execute(plan, CONFIRMED_BY_FLAG))
    assert out.status == "refused"
    assert out.message == "Refused: read-only mode (--read-only / read_only = true)"
    assert client.calls == []
    assert list_audit(demo_engine, limit=1)[0].result == "refused"


def test_member_is_refused_and_told_whom_to_ask(service, client, demo_engine,
                                                demo_world_session) -> None:
    from storage.load import set_me

    set_me(demo_engine, demo_world_session.tokens["demo-member"])
    plan = service.plan("stop", RUNNING_WS)
    assert plan.reason == ("customer members cannot act: ask your customer admin "
                           "grace.whitfield@northwindhealth.example, "
                           "freya.muller@northwindhealth.example")
    assert service.refuse(plan).status == "refused"
    row = list_audit(demo_engine, limit=1)[0]
    assert (row.actor, row.actor_role, row.result) == (
        "tom.becker@northwindhealth.example", "customer_member", "refused")
    assert client.calls == []


def test_delete_needs_the_typed_name(service, client, demo_engine) -> None:
    plan = service.plan("delete", STOPPED_WS)
    assert plan.requires_typed_name and plan.confirm_text == "claims-portal-dev"
    out = asyncio.run(service.execute(plan, "modal", typed_name="claims-portal"))
    assert out.status == "cancelled" and client.calls == []
    assert list_audit(demo_engine, limit=1)[0].reason == \
        "the typed name did not match the workspace name"
    plan = service.plan("delete", STOPPED_WS)
    assert asyncio.run(service.execute(plan, "modal", typed_name="claims-portal-dev")).ok
    assert client.calls[0][0] == "create_build"


def test_a_name_shown_redacted_confirms_as_shown_or_by_id(service) -> None:
    plan = service.plan("delete", STOPPED_WS)
    assert "or its id" not in plan.prompt and not plan.confirmation_matches(STOPPED_WS)
    plan.subject.row["name"] = "ci user:hunter2@box token=s3cretvalue"
    shown = "ci box token=[redacted]"
    assert plan.confirm_text == shown
    assert plan.prompt == (f"Type the workspace name as shown ({shown}), or its id "
                           f"({STOPPED_WS}), to confirm the delete")
    assert all(plan.confirmation_matches(t) for t in (shown, STOPPED_WS, f" {STOPPED_WS} "))
    assert not any(plan.confirmation_matches(t) for t in ("ci box", "ws-000045", "", None))


def test_cancel_at_confirmation_is_audited_without_a_call(service, client, demo_engine) -> None:
    plan = service.plan("stop", RUNNING_WS)
    out = service.cancel(plan)
    assert out.status == "cancelled" and client.calls == []
    row = list_audit(demo_engine, limit=1)[0]
    assert (row.result, row.target_id, row.reason) == (
        "cancelled", RUNNING_WS, "cancelled at the confirmation")


def test_reissue_names_email_and_expiry_never_a_link(service, client, demo_engine) -> None:
    plan = service.plan("reissue_invite", "nina.haddad@northwindhealth.example")
    assert plan.target_id == CONSUMED_INVITE and plan.allowed
    out = asyncio.run(service.execute(plan, "modal"))
    assert out.message == ("New invite sent to nina.haddad@northwindhealth.example, "
                           "expires 2026-12-01 09:30 UTC")
    # the old invite is marked replaced at once, so a second reissue is refused locally
    again = service.plan("reissue_invite", CONSUMED_INVITE)
    assert again.reason == "invite was already replaced by inv-new"
    for row in list_audit(demo_engine):
        assert "http" not in row.reason and "token" not in row.reason.lower()


def test_unknown_and_ambiguous_targets_say_what_to_type(service) -> None:
    from ism_tui.actions.targets import TargetError

    with pytest.raises(TargetError, match="no cached workspace matches 'nope'"):
        service.plan("stop", "nope")
    with pytest.raises(TargetError, match="'docs-site-dev' matches 2 workspaces: .*give the id"):
        service.plan("stop", "docs-site-dev")
    with pytest.raises(TargetError, match="matches .* workspaces owned by that email"):
        service.plan("stop", "farid.nakamura@northwindhealth.example")

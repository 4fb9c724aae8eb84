"""Pilot flows of guarded actions against the simulator on loopback."""

from __future__ import annotations

import pytest
from conftest import FROZEN_NOW
from textual.widgets import OptionList
from tui_support import make_app, make_services, screen, until, until_shown

from ism_tui.sim.testing import running_simulator
from screens.actions import ActionMenu, ConfirmAction
from storage.audit import list_audit
from storage.queries import invite_detail, workspace_detail


@pytest.fixture
def sim():
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


def _find(world, resource, **match):
    return next(o for o in world.collection(resource).values()
                if all(o.get(k) == v for k, v in match.items()))


async def _open_menu(pilot, app, tab: str, filter_text: str) -> ActionMenu:
    await pilot.press(tab, "slash", *filter_text, "enter")
    await until_shown(pilot, app, f"matching '{filter_text}'")
    await pilot.press("a")
    await until(pilot, lambda: isinstance(app.screen, ActionMenu), "the action menu")
    assert isinstance(app.screen, ActionMenu)
    return app.screen


async def _choose(pilot, menu: ActionMenu, action: str) -> None:
    options = menu.query_one(OptionList)
    index = next(i for i in range(options.option_count)
                 if options.get_option_at_index(i).id == action)
    options.highlighted = index
    options.focus()
    await pilot.press("enter")
    await pilot.pause()


async def test_reissue_expired_invite_end_to_end(tmp_path, sim):
    invite = _find(sim.world, "invites", state="expired")
    services = make_services(tmp_path, sim.world, url=sim.base_url)
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        menu = await _open_menu(pilot, app, "3", invite["id"])
        await _choose(pilot, menu, "reissue_invite")
        assert isinstance(app.screen, ConfirmAction)
        assert invite["email"] in screen(app)
        await pilot.press("enter")  # the Confirm button has focus
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
    assert any(m.startswith(f"New invite sent to {invite['email']}, expires") for m in messages)
    assert invite_detail(services.engine, invite["id"])["state"] == "revoked"
    results = [e.result for e in list_audit(services.engine, action="reissue_invite")]
    assert "succeeded" in results
    assert not any("token" in m.lower() or "http" in m for m in messages)


async def test_delete_needs_the_typed_name_and_cancel_is_audited(tmp_path, sim):
    ws = _find(sim.world, "workspaces", status="stopped")
    services = make_services(tmp_path, sim.world, url=sim.base_url)
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        menu = await _open_menu(pilot, app, "4", ws["id"])
        await _choose(pilot, menu, "delete")
        assert isinstance(app.screen, ConfirmAction)
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmAction)  # a wrong name does not confirm
        await pilot.press("escape")
        await pilot.pause()
        assert [e.result for e in list_audit(services.engine, action="delete")] == ["cancelled"]
        menu = await _open_menu(pilot, app, "4", ws["id"])
        await _choose(pilot, menu, "delete")
        await pilot.press(*ws["name"], "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
    results = [e.result for e in list_audit(services.engine, action="delete")]
    assert "succeeded" in results and "cancelled" in results
    row = workspace_detail(services.engine, ws["id"])
    assert row is None or row["status"] in ("deleting", "deleted")


async def test_delete_of_a_name_shown_redacted_confirms_as_shown(tmp_path, sim):
    ws = _find(sim.world, "workspaces", status="stopped")
    ws["name"] = "ci user:hunter2@box token=s3cretvalue"
    shown = "ci box token=[redacted]"
    services = make_services(tmp_path, sim.world, url=sim.base_url)
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        menu = await _open_menu(pilot, app, "4", ws["id"])
        await _choose(pilot, menu, "delete")
        assert isinstance(app.screen, ConfirmAction)
        text = await until_shown(pilot, app, f"as shown ({shown}), or its id ({ws['id']})")
        await pilot.press(*"ci box", "enter")  # what is shown, cut short: refused
        await pilot.pause()
        assert isinstance(app.screen, ConfirmAction)
        await pilot.press(*" token=[redacted]", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]
    assert [e.result for e in list_audit(services.engine, action="delete")] == [
        "succeeded", "confirmed"]  # newest first; the refused text was not an attempt
    row = workspace_detail(services.engine, ws["id"])
    assert row is None or row["status"] in ("deleting", "deleted")
    assert not any(secret in t for t in [text, *messages] for secret in ("hunter2", "s3cret"))


async def test_refused_action_shows_reason_and_is_audited(tmp_path, sim):
    ws = _find(sim.world, "workspaces", status="running")
    services = make_services(tmp_path, sim.world, url=sim.base_url, token="demo-member")
    app = make_app(services)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        member = services.me()
        mine = _find(sim.world, "workspaces", customer_id=member.customer_id)
        menu = await _open_menu(pilot, app, "4", mine["id"])
        text = screen(app)
        assert "not allowed" in text
        await _choose(pilot, menu, "stop")
        messages = [str(n.message) for n in app._notifications]
    assert any(m.startswith("Refused:") for m in messages)
    assert [e.result for e in list_audit(services.engine, action="stop")] == ["refused"]
    assert ws  # the operator's running workspace exists; the member never reaches it


async def test_read_only_refuses_everything(tmp_path, sim):
    ws = _find(sim.world, "workspaces", status="running")
    services = make_services(tmp_path, sim.world, url=sim.base_url, read_only=True)
    app = make_app(services)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        assert "READ-ONLY" in screen(app)
        await _open_menu(pilot, app, "4", ws["id"])
        text = screen(app)
        assert "read-only" in text
        assert "▶" not in text  # nothing is offered as allowed


async def test_sync_on_start_fills_an_empty_cache_and_stays_on_triage(tmp_path, sim):
    from tui_support import frozen

    from ism_tui.app import ISMApp

    services = make_services(tmp_path, sim.world, url=sim.base_url, load=False)
    app = ISMApp(services, clock=frozen, sync_on_start=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await until_shown(pilot, app, "synced just now", "26 blockers")
        assert app.query_one("#tabs").active == "tab-triage"


async def test_stop_updates_the_table_and_the_audit_view(tmp_path, sim):
    from screens.audit import AuditScreen
    from screens.list_pane import ListPane

    ws = _find(sim.world, "workspaces", status="running", customer_id=_find(
        sim.world, "customers", name="Copperleaf Energy")["id"])
    services = make_services(tmp_path, sim.world, url=sim.base_url)
    app = make_app(services)
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        menu = await _open_menu(pilot, app, "4", ws["id"])
        await _choose(pilot, menu, "stop")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        row = app.query_one("#workspaces", ListPane).table.row_at(0)
        assert row["id"] == ws["id"] and row["status"] == "stopping"
        assert "stop pending" in screen(app) or "stop running" in screen(app)
        await pilot.press("A")
        await until(pilot, lambda: isinstance(app.screen, AuditScreen), "the audit trail")
        await until_shown(pilot, app, "succeeded", "confirmed", ws["name"][:10])


async def test_followed_build_log_stops_following_when_the_build_ends(tmp_path, sim):
    import httpx

    from ism_tui.sim.state import BUILD_SECONDS
    from screens.build_logs import BuildLogScreen

    ws = _find(sim.world, "workspaces", status="stopped")
    started = httpx.post(f"{sim.base_url}/workspaces/{ws['id']}/builds",
                         json={"transition": "start"},
                         headers={"Authorization": "Bearer demo-operator",
                                  "Idempotency-Key": "follow-test"})
    assert started.status_code == 201
    services = make_services(tmp_path, sim.world, url=sim.base_url)
    assert workspace_detail(services.engine, ws["id"])["build_job_status"] in ("pending",
                                                                               "running")
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        app.open_build_logs(ws["id"])
        await until(pilot, lambda: isinstance(app.screen, BuildLogScreen), "the log viewer")
        assert isinstance(app.screen, BuildLogScreen) and app.screen.follow
        await until_shown(pilot, app, "follow ON")
        sim.advance(BUILD_SECONDS * 3)  # the build finishes on the Console
        # the screen polls every 1.5 s while following
        await until_shown(pilot, app, "follow off · the build ended: succeeded")
        assert not app.screen.follow
    row = workspace_detail(services.engine, ws["id"])
    assert row["build_job_status"] == "succeeded" and row["status"] == "running"

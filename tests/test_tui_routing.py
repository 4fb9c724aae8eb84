"""Pilot flows for routing: act from the triage queue, escalate from Accounts and Workspaces."""

from __future__ import annotations

from tui_support import make_app, make_services, screen


async def test_the_admin_reissues_from_the_triage_queue(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session, token="demo-admin"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"nina", "enter")
        await pilot.pause(0.2)
        await pilot.press("a")  # what the route says: "you can do this now: `a` reissue"
        await pilot.pause()
        text = screen(app)
        assert "▶ Reissue invite" in text and "Actions on invite inv-000092" in text


async def test_escalate_a_workspace_that_has_no_blocker(tmp_path,
                                                       demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4", "slash", *"ad-server-exp", "enter")
        await pilot.pause(0.2)
        await pilot.press("e")
        await pilot.pause()
    [written] = list((tmp_path / "exports").glob("escalation-workspace-*.md"))
    text = written.read_text()
    assert "ad-hoc escalation by sam.rivera@ism.example.com" in text
    assert "| workspace | ad-server-exp |" in text

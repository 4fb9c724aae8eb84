"""Pilot flows for routing: act from the triage queue, escalate from Accounts and Workspaces."""

from __future__ import annotations

from tui_support import make_app, make_services, until, until_shown


async def test_the_admin_reissues_from_the_triage_queue(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session, token="demo-admin"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"nina", "enter")
        await until_shown(pilot, app, "matching 'nina'")
        await pilot.press("a")  # what the route says: "you can do this now: `a` reissue"
        text = await until_shown(pilot, app, "Actions on invite")
        assert "▶ Reissue invite" in text and "Actions on invite inv-000092" in text


async def test_escalate_a_workspace_that_has_no_blocker(tmp_path,
                                                       demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4", "slash", *"ad-server-exp", "enter")
        await until_shown(pilot, app, "matching 'ad-server-exp'")
        await pilot.press("e")
        exports = tmp_path / "exports"
        await until(pilot, lambda: list(exports.glob("escalation-workspace-*.md")),
                    "the escalation file")
    [written] = list((tmp_path / "exports").glob("escalation-workspace-*.md"))
    text = written.read_text()
    assert "ad-hoc escalation by sam.rivera@ism.example.com" in text
    assert "| workspace | ad-server-exp |" in text

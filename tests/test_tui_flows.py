"""Pilot flows of the console on the demo scenario: what an operator does, tab by tab."""

from __future__ import annotations

from tui_support import make_app, make_services, screen, until, until_shown

from screens.list_pane import ListPane


async def test_opens_on_the_triage_queue_worst_first(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        text = screen(app)
        assert "26 blockers" in text
        first_row = next(line for line in text.splitlines() if "CRIT" in line)
        assert "✖ CRIT" in first_row  # severity is a word and a glyph, not only a colour
        assert "not synced yet" in text  # the cache was never synced: the header says so


async def test_triage_detail_and_export(tmp_path, demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"provisioning_failed", "enter")
        await until_shown(pilot, app, "matching 'provisioning_failed'")
        await pilot.press("enter")  # narrow: the detail opens full screen
        await until_shown(pilot, app, "Who acts next", "Evidence")
        await pilot.press("escape")
        await pilot.press("e")
        await until(pilot, lambda: app.clipboard, "the escalation's copy")
    files = list((tmp_path / "exports").glob("escalation-*.md"))
    assert len(files) == 1
    body = files[0].read_text()
    assert "provisioning" in body.lower() and "Done when" in body
    assert (files[0].stat().st_mode & 0o077) == 0  # not readable by group or others
    assert app.clipboard == body  # OSC 52 copy


async def test_wide_terminal_shows_detail_beside_the_table(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("down")
        await pilot.pause()
        text = screen(app)
        assert "Playbook steps" in text and "26 blockers" in text


async def test_wide_detail_scrolls_to_its_last_line_and_a_short_one_does_not(
        tmp_path, demo_world_session):
    """A detail taller than its pane scrolls to its last line (nothing is cut off), a short
    one has nothing to scroll, including after the terminal shrinks."""
    from textual.containers import VerticalScroll

    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        await until_shown(pilot, app, "workspaces · sort")
        pane = app.query_one("#workspaces", ListPane)
        detail = pane.query_one(".list-detail", VerticalScroll)
        assert detail.max_scroll_y == 0  # short: padded to the pane, no scrollbar
        await pilot.resize_terminal(120, 30)
        await until(pilot, lambda: detail.scrollable_content_region.height < 30, "the resize")
        await pilot.pause()
        assert detail.max_scroll_y == 0
        await pilot.press("1")  # the triage detail is longer than a 30-line pane
        pane = app.query_one("#triage", ListPane)
        detail = pane.query_one(".list-detail", VerticalScroll)
        await until(pilot, lambda: detail.max_scroll_y > 0, "a detail taller than its pane")
        last = str(pane.describe(pane.table.current)).split()[-1]  # its last word
        assert last not in screen(app)
        detail.scroll_end(animate=False)
        await until_shown(pilot, app, last)


async def test_accounts_filter_user_shows_role_mapping(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        assert "13 customers" in screen(app)
        await pilot.press("u", "slash", *"priya", "enter")
        await until_shown(pilot, app, "1 users matching 'priya'")
        await pilot.press("enter")
        await pilot.pause()
        text = screen(app)
        assert "Expected (IdP)" in text and "customer_admin" in text
        assert "role" in text.lower()


async def test_blocked_only_filter_on_invites(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("3", "b")
        text = await until_shown(pilot, app, "invites matching 'is:blocked'")
        assert "✖ EXPIRED" in text and "✖ CONSUMED" in text
        pane = app.query_one("#invites", ListPane)
        rows = [pane.table.row_at(i) for i in range(pane.table.total)]
        assert rows and all(r["state"] in ("expired", "consumed") for r in rows)


async def test_workspace_detail_flags_internal_launch_url(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4", "slash", *"claims-api-dev", "enter")
        await until_shown(pilot, app, "matching 'claims-api-dev'")
        await pilot.press("enter")
        text = await until_shown(pilot, app, "Apps:")
        assert "⚠ URL" in text
        assert "?" not in text.split("Apps:")[1].split("\n")[1]  # host only, never the query


async def test_sort_cycles_and_reverses(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("4")
        pane = app.query_one("#workspaces", ListPane)
        first = pane.table.row_at(0)["name"]
        await pilot.press("S")
        await pilot.pause()
        assert pane.table.row_at(0)["name"] > first
        await pilot.press("s")
        await pilot.pause()
        assert "sort status" in screen(app)


async def test_analytics_tab_shows_totals_and_diagnosis(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        text = screen(app)
        assert "workspace h" in text and "Reconciliation" in text
        pane = app.query_one("#analytics")
        assert pane.view.status in ("ok", "partial")


async def test_analytics_member_sees_why_not(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session, token="demo-member"))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("5")
        await pilot.pause()
        text = screen(app)
        assert "NOT AVAILABLE" in text and "expected" in text.lower()


async def test_help_lists_every_binding(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(100, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen(app)
        for key in ("ctrl+p", "is:blocked", "Build logs".lower()):
            assert key.lower() in text.lower()


async def test_sync_against_a_down_server_keeps_the_cache(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        text = screen(app)
        assert "offline: showing cache" in text
        assert "26 blockers" in text
        assert any("Sync failed" in str(n.message) for n in app._notifications)


async def test_hostile_strings_render_literally(tmp_path, demo_world):
    hostile = "[bold red]x[/] \x1b[31mred\x1b]0;pwn\x07 ｗｉｄｅ" + "Z" * 500
    cust = next(iter(demo_world.collection("customers").values()))
    cust["name"] = hostile
    app = make_app(make_services(tmp_path, demo_world))
    async with app.run_test(size=(120, 30)) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await pilot.pause()
        text = screen(app)
        assert "[bold red]x[/]" in text  # markup shown, not applied
        assert "\x1b" not in text and "pwn\x07" not in text


async def test_palette_go_to_opens_the_user(tmp_path, demo_world_session):
    from screens.detail_screen import DetailScreen

    priya = next(u for u in demo_world_session.collection("users").values()
                 if u["email"].startswith("priya.raman"))
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"priya")
        await until_shown(pilot, app, "user: priya.raman")
        await app.go_to("user", priya["id"])
        # the tab counts once laid out, then the detail screen opens and paints
        await until(pilot, lambda: isinstance(app.screen, DetailScreen), "the user's detail")
        await until_shown(pilot, app, "priya.raman")


async def test_analytics_empty_selection_is_diagnosed_and_exported(tmp_path, demo_world_session):
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(100, 60)) as pilot:
        await pilot.pause()
        await pilot.press("5", "c", *"Granite", "enter")
        await pilot.pause()
        await pilot.press("p", *"7d", "enter")
        await pilot.pause()
        text = screen(app)
        pane = app.query_one("#analytics")
        assert pane.view.status == "empty" and "Granite Civil" in pane.view.scope_label
        assert "✖ EMPTY" in text
        holding = {f.reason for f in pane.view.diagnosis if f.holds}
        assert "not_running" in holding
        assert "✖ HOLDS Whether the workspaces were running" in text
        # nothing ran: a fix-it-yourself reason, so there is nothing to send support
        assert "Nothing to escalate: Nothing to fix" in text and pane.view.escalation is None
        await pilot.press("e", "x")
        exports = tmp_path / "exports"
        await until(pilot, lambda: len(list(exports.glob("usage-*"))) == 2, "the CSV and JSON")
        # a period where usage is still missing (reconciliation failed) is escalated
        await pilot.press("c", *"Pinecrest", "enter")
        await pilot.pause()
        await pilot.press("p", *"2026-11-16..2026-11-19", "enter")
        await pilot.pause()
        assert pane.view.escalation is not None, screen(app)
        await pilot.press("e")
        await until(pilot, lambda: list(exports.glob("analytics-escalation-*.md")),
                    "the escalation file")
    [escalation] = [p.read_text() for p in exports.glob("analytics-escalation-*.md")]
    assert "Pinecrest" in escalation and "selected_period" in escalation
    assert "reconciliation_status" in escalation
    assert list(exports.glob("usage-*.csv")) and list(exports.glob("usage-*.json"))


async def test_hidden_tabs_are_built_after_the_first_paint(tmp_path, demo_world_session):
    """Only the tab the console opens on is built before the first paint; a tab asked for in
    the instant before it is built still opens, focused."""
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        from screens.lazy import LazyPane

        assert len(app.query(LazyPane)) == 4  # Triage built; the other four stand-ins
        await pilot.press("5")  # before the first refresh has built Analytics
        await pilot.pause()
        await pilot.pause()
        assert not app.query(LazyPane)
        assert app.focused is not None and app.focused.id == "analytics"
        assert "Analytics" in screen(app) and "Period" in screen(app)


async def test_a_tab_built_after_the_operator_switched_to_it_takes_the_focus(
        tmp_path, demo_world_session, monkeypatch):
    """The stand-in of a hidden tab may still be there when the operator switches to it (a
    slow first refresh): once its content is built, the content gets the keyboard."""
    from screens.lazy import LazyPane

    monkeypatch.setattr(LazyPane, "on_mount", lambda self: None)  # built only when told
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        tab = app.query_one("#tab-workspaces")
        assert tab.query(LazyPane)  # switched to, not built yet
        assert app.focused is None  # the Triage table went with its tab; nothing to focus
        for lazy in list(app.query(LazyPane)):
            await lazy._swap()
        await pilot.pause()
        assert not app.query(LazyPane)
        assert app.focused is tab.query_one(ListPane).table, app.focused


async def test_a_filter_counts_up_to_a_cap_and_all_of_it_near_the_end(
        tmp_path, demo_world_session, monkeypatch):
    """Typing a common word on a big table must not scan it all on every keystroke: matches
    are counted up to a cap ("5+"), and all of them once the operator heads for the end."""
    from screens.list_pane import ListPane as Pane

    monkeypatch.setattr("screens.list_pane.COUNT_CAP", 5)
    app = make_app(make_services(tmp_path, demo_world_session))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("4")
        await pilot.pause()
        pane = app.query_one("#workspaces", Pane)
        exact = pane.table.source.count("a")
        assert exact > 20
        await pilot.press("slash", "a", "enter")
        await until_shown(pilot, app, "5+ workspaces matching 'a'")
        assert pane.table.total == 5 and not pane.table.exact
        await pilot.press("end")
        await pilot.pause()
        assert pane.table.exact and pane.table.total == exact
        assert f"{exact} workspaces matching 'a'" in screen(app)
        assert f"row {exact}" in screen(app)
        await pilot.press("escape", "slash", "i", "enter")  # a new filter: capped again
        await until_shown(pilot, app, "5+ workspaces matching 'i'")
        await pilot.press("pagedown")
        await pilot.pause()
        assert pane.table.exact and "+ workspaces" not in screen(app)

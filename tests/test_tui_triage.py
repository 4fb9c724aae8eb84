"""Pilot flows of the lead's trail in the Triage tab: state keys, notes, filter words, what
changed, the handover, and the toast for a new critical blocker after a sync."""

from __future__ import annotations

import json
import stat
from typing import Any

import pytest
from conftest import FROZEN_NOW
from tui_support import make_app, make_services, screen, seed_trail_history

from ism_tui.sim.testing import running_simulator
from screens.triage import TriagePane
from storage.trail import TrailStore, trail_path

FIRST = "user_provisioning_failed:ws-000120"
SECOND = "billing_approval_missing:ws-000121"
THIRD = "target_unavailable:ws-000122"


def row_line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


async def test_state_keys_set_the_trail_and_it_is_kept(tmp_path, demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"ws-00012", "enter")  # the workspaces' create blockers
        await pilot.pause(0.2)
        assert "● NEW" in row_line(screen(app), "genomics")
        await pilot.press("w")
        await pilot.pause()
        assert "▶ WORK" in row_line(screen(app), "user_provisioning")
        await pilot.press("down", "x")
        await pilot.pause()
        assert "Ticket reference" in screen(app)
        await pilot.press(*"SUP-42", "enter")  # to the next field, where the playbook's
        await pilot.press("enter")  # escalate-to is filled in
        await pilot.pause()
        assert "⇧ ESC" in row_line(screen(app), "billing_approval")
        await pilot.press("down", "c", "down", "z")
        await pilot.pause()
        await pilot.press("ctrl+a", "ctrl+k", *"2h", "enter")
        await pilot.pause()
        await pilot.press("n")  # the snoozed row left: the cursor is on the next one
        await pilot.pause()
        await pilot.press(*"asked Grace; password=hunter2", "enter")
        await pilot.pause()
        text = screen(app)
        assert "… WAIT" in row_line(text, "target_unavailable")
        assert "sso_incomplete" not in text
        assert "· seen ✎" in row_line(text, "prepaid_balance")  # a note: it was looked at
    services.close()
    store = TrailStore(trail_path(services.cache.path))  # what another process reads
    marks = {m["blocker_id"]: m for m in store.marks()}
    assert marks[FIRST]["state"] == "working"
    assert marks[FIRST]["lead"] == "sam.rivera@ism.example.com"
    assert (marks[SECOND]["state"], marks[SECOND]["ticket"],
            marks[SECOND]["ticket_where"]) == ("escalated", "SUP-42",
                                               "ISM support (billing review)")
    assert marks[THIRD]["state"] == "waiting"
    note = marks["prepaid_balance_missing:ws-000124"]["note"]
    assert note.startswith("asked Grace") and "hunter2" not in note
    store.close()


class Clock:
    def __init__(self) -> None:
        self.now = FROZEN_NOW

    def __call__(self) -> Any:
        return self.now


def ids(pane: TriagePane) -> list[str]:
    return [pane.table.row_at(i)["id"] for i in range(pane.table.total)]


async def test_a_snoozed_blocker_leaves_the_queue_until_its_snooze_ends(tmp_path,
                                                                       demo_world_session):
    from datetime import timedelta

    from ism_tui.app import ISMApp
    from storage.triage_io import blocker_heads

    services = make_services(tmp_path, demo_world_session)
    clock = Clock()
    heads = blocker_heads(services.cache)
    services.trail(clock).record_sync(heads)  # the trail's first look, before the session
    app = ISMApp(services, clock=clock, sync_on_start=False)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        pane = app.query_one(TriagePane)
        queue = ids(pane)
        first = queue[0]
        await pilot.press("z", "ctrl+a", "ctrl+k", *"2h", "enter")
        await pilot.pause()
        assert ids(pane) == queue[1:]
        text = screen(app)
        assert f"{len(queue) - 1} blockers · 1 snoozed hidden (is:snoozed shows them)" in text
        await pilot.press("slash", *"is:snoozed", "enter")
        await pilot.pause()
        assert ids(pane) == [first]
        assert "z SNOOZE" in screen(app) and "snoozed hidden" not in screen(app)
        await pane.show_filter("is:all")
        await pilot.pause()
        assert ids(pane) == queue
        await pane.show_filter("")
        await pilot.pause()
        clock.now += timedelta(hours=2)  # the snooze is over: back without a sync
        pane._snooze_over()
        await pilot.pause()
        assert ids(pane) == queue and "snoozed hidden" not in screen(app)
        assert "● NEW" in row_line(screen(app), pane.table.row_at(0)["summary"][:20])

        # snoozed again, then a sync finds its severity went up: back at once, marked
        await pilot.press("z", "ctrl+a", "ctrl+k", *"1w", "enter")
        await pilot.pause()
        second = ids(pane)[0]
        await pilot.press("z", "ctrl+a", "ctrl+k", *"1w", "enter")
        await pilot.pause()
        assert first not in ids(pane) and second not in ids(pane)
        clock.now += timedelta(minutes=5)
        app.trail.record_sync([{**h, "severity": h["severity"] + 1} if h["blocker_id"] == first
                               else h for h in heads])
        pane.reload()
        await pilot.pause()
        assert first in ids(pane) and second not in ids(pane)
        assert "1 snoozed hidden" in screen(app)
        summary = next(h["summary"] for h in heads if h["blocker_id"] == first)
        assert "▲ WORSE" in row_line(screen(app), summary[:20])
    services.close()


async def test_filter_words_of_the_trail(tmp_path, demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    trail = services.trail(lambda: FROZEN_NOW)
    trail.set_state(FIRST, {"case": "user_provisioning_failed"}, "working")
    trail.set_state(SECOND, {"case": "billing_approval_missing"}, "escalated", ticket="T-1")
    other = type(trail)(services.trail_store, lambda: "someone@else", trail.clock)
    other.set_state(THIRD, {"case": "target_unavailable"}, "working")
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        pane = app.query_one(TriagePane)
        found: dict[str, list[str]] = {}
        total = pane.table.total
        for words in ("is:working", "is:escalated", "is:mine", "is:new", "is:mine Kestrel",
                      "is:waiting"):
            await pane.show_filter(words)
            await pilot.pause()
            found[words] = [pane.table.row_at(i)["id"] for i in range(pane.table.total)]
        text = screen(app)
    assert found["is:working"] == [FIRST, THIRD]
    assert found["is:escalated"] == [SECOND]
    assert found["is:mine"] == [FIRST, SECOND]
    assert found["is:mine Kestrel"] == [SECOND]  # with ordinary words, as AND
    assert len(found["is:new"]) == total - 3 and not {FIRST, SECOND, THIRD} & set(found["is:new"])
    assert found["is:waiting"] == [] and "(no rows match the filter)" in text


async def test_a_wide_terminal_marks_what_the_lead_looks_at_as_seen(tmp_path,
                                                                      demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    app = make_app(services)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        await pilot.press("down", "down")
        await pilot.pause()
        text = screen(app)
        table = app.query_one(TriagePane).table
        looked_at = [table.row_at(i)["id"] for i in range(3)]
        assert "· seen" in row_line(text, table.row_at(1)["summary"][:20])
    seen = services.trail_store.ids("state = 'seen'")
    assert sorted(seen) == sorted(looked_at)


async def test_what_changed_since_the_last_session(tmp_path, demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    seed_trail_history(services)
    app = make_app(services)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "↻ REOPEN ✎" in row_line(screen(app), "invite_consumed")
        await pilot.press("v")
        await pilot.pause()
        text = screen(app)
        assert "Since your last session (2026-11-24T08:00Z)" in text
        assert "New: 1" in row_line(text, "New:") and "ml-training-gpu" in text
        assert "Reopened (notes kept): 1" in text
        assert "customer admin said they would reissue it" in text
        assert "Resolved by the Console: 1" in text and "gone@example.com" in text
        await pilot.press("escape")
        pane = app.query_one(TriagePane)
        await pane.show_filter("is:reopened")
        await pilot.pause()
        assert pane.table.total == 1


async def test_handover_key_writes_markdown_and_json(tmp_path, demo_world_session):
    services = make_services(tmp_path, demo_world_session)
    seed_trail_history(services)
    app = make_app(services)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("x", *"INC-7?token=s3cr3t", "enter", "enter")
        await pilot.pause()
        await pilot.press("H")
        await pilot.pause()
    (md,) = (tmp_path / "exports").glob("handover-*.md")
    data = json.loads(md.with_suffix(".json").read_text())
    for path in (md, md.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert "s3cr3t" not in path.read_text()
    assert [e["ticket"] for e in data["escalations"]] == ["INC-7?token=[redacted]"]
    assert data["span"]["from"] <= data["span"]["to"]


CREATE_BLOCKER = [{"code": "prepaid_balance_missing", "since": "2026-11-24T09:00:00Z",
                   "message": "Prepaid balance for Orchard Analytics is exhausted."}]


@pytest.mark.parametrize("bell", [False, True])
async def test_a_new_critical_blocker_after_a_sync_shows_a_toast(tmp_path, bell):
    with running_simulator(now=FROZEN_NOW) as sim:
        services = make_services(tmp_path, sim.world, url=sim.base_url,
                                 extra_config=f"bell_on_critical = {str(bell).lower()}\n")
        app = make_app(services)
        toasts: list[tuple[str, str]] = []
        bells: list[int] = []
        notify = app.notify

        def recording(message: str, **kw: Any) -> None:
            toasts.append((str(message), kw.get("severity", "information")))
            notify(message, **kw)

        app.notify = recording  # type: ignore[method-assign]
        app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
        async with app.run_test(size=(80, 24), notifications=True) as pilot:
            await pilot.pause()
            await pilot.press("r")  # the trail's first look: a baseline, nothing is news
            await app.workers.wait_for_complete()
            assert not [t for t in toasts if t[1] == "error"]
            focused = app.focused
            sim.patch("workspaces", "ws-000001", {"create_blockers": CREATE_BLOCKER})
            app.action_sync()  # as the background interval does
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = screen(app)
            assert app.focused is focused  # the toast does not take the focus
    critical = [m for m, severity in toasts if severity == "error"]
    assert critical == ["New critical blocker: create of sales-dashboard-v2 is blocked: "
                        "Prepaid balance for Orchard Analytics is exhausted."]
    assert any("blockers: 1 new" in m for m, _ in toasts)
    assert "● NEW" in row_line(text, "Orchard")
    assert bells == ([1] if bell else [])


async def test_the_console_catches_up_with_a_sync_it_did_not_see(tmp_path):
    """A cache synced by another process that did not record (an older ism-tui): the console
    compares the queue with its trail once it has painted."""
    from ism_tui.sync import run_sync

    with running_simulator(now=FROZEN_NOW) as sim:
        services = make_services(tmp_path, sim.world, url=sim.base_url, load=False)
        report = await run_sync(services)
        assert report.ok and services.trail_store.marks() == []
        app = make_app(services)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await app.workers.wait_for_complete()
            await pilot.pause()
            text = screen(app)
    from storage.triage_io import blocker_heads

    queue = len(blocker_heads(services.cache))
    assert len(services.trail_store.marks("present = 1")) == queue > 20
    assert f"{queue} blockers" in text and "● NEW" in text

"""SVG snapshots of every screen at 80x24 and 160x48 on the demo scenario, frozen clock.

Update with ``pytest tests/test_tui_snapshots.py --snapshot-update`` and look at each changed
file (``tests/snapshots/``) before committing it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tui_support import (
    make_app,
    make_services,
    normalise_svg,
    screen,
    seed_trail_history,
    settled,
    steady_cursors,
)

SIZES = [(80, 24), (160, 48)]
FIND = ("slash",)

SCREENS: dict[str, tuple[str, list[str]]] = {
    "triage": ("demo-operator", []),
    "triage-detail": ("demo-operator", ["down", "enter"]),
    # one case as each role sees it: who acts next, where it escalates, what you can do now
    "routing-operator": ("demo-operator", [*FIND, *"nina", "enter", "enter"]),
    "routing-admin": ("demo-admin", [*FIND, *"nina", "enter", "enter"]),
    "routing-member": ("demo-member", [*FIND, *"nina", "enter", "enter"]),
    "triage-trail": ("demo-operator", ["w", "down", "n", *"asked Grace", "enter", "down"]),
    "triage-escalate": ("demo-operator", ["x", *"SUP-42"]),
    "triage-changes": ("demo-operator", ["v"]),
    "customers": ("demo-operator", ["2"]),
    "users": ("demo-operator", ["2", "u"]),
    "templates": ("demo-operator", ["2", "t"]),
    "customer-readiness": ("demo-member", ["2", "enter"]),
    "invites-blocked": ("demo-operator", ["3", "b"]),
    "workspaces": ("demo-operator", ["4"]),
    "workspace-detail": ("demo-operator", ["4", *FIND, *"imaging-pipeline", "enter", "enter"]),
    "action-menu": ("demo-operator", ["4", *FIND, *"imaging-pipeline", "enter", "a"]),
    "confirm-delete": ("demo-operator", ["4", *FIND, *"ad-server-exp", "enter", "a", "end",
                                         "enter"]),
    "build-logs": ("demo-operator", ["4", *FIND, *"imaging-pipeline", "enter", "l"]),
    "analytics": ("demo-operator", ["5"]),
    "analytics-admin": ("demo-admin", ["5"]),
    "analytics-member": ("demo-member", ["5"]),
    "help": ("demo-operator", ["question_mark"]),
    "audit": ("demo-operator", ["A"]),
}
# screens shown over a triage trail with a past (``seed_trail_history``)
SEEDED = {"triage-trail", "triage-changes"}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
async def test_screen_snapshot(name, size, tmp_path, demo_world_session, snapshot):
    token, keys = SCREENS[name]
    services = make_services(tmp_path, demo_world_session, token=token)
    if name in SEEDED:
        seed_trail_history(services)
    app = make_app(services)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for key in keys:
            await pilot.press(key)
        await settled(pilot, app)
        steady_cursors(app)
        await settled(pilot, app)
        svg = app.export_screenshot(title=f"ism-tui {name}")
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots"
    snapshot.assert_match(normalise_svg(svg), f"{name}-{size[0]}x{size[1]}.svg")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
async def test_hostile_strings_snapshot(size, tmp_path, demo_world, snapshot):
    """Names with Rich markup, ANSI/OSC escapes, wide and 500-character text render literally
    and never push the layout out of shape."""
    customers = list(demo_world.collection("customers").values())
    customers[0]["name"] = "[bold red]x[/] \x1b[31mred\x1b]0;pwn\x07 ｗｉｄｅ名前 " + "Z" * 500
    users = list(demo_world.collection("users").values())
    users[0]["email"] = "[link=http://evil]a@b[/link]\x1b[2J@example.com"
    app = make_app(make_services(tmp_path, demo_world))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        await pilot.press("2")
        await settled(pilot, app)
        text = screen(app)
        svg = app.export_screenshot(title="ism-tui hostile strings")
    assert "[bold red]x[/]" in text
    snapshot.snapshot_dir = Path(__file__).parent / "snapshots"
    snapshot.assert_match(normalise_svg(svg), f"hostile-{size[0]}x{size[1]}.svg")

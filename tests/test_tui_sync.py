"""The console's sync runs in a child process (``ism_tui.sync_child``): its progress shows in
the header, and closing the console stops it, the next sync resuming where it stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from conftest import FROZEN_NOW
from tui_support import make_app, make_services, screen

from ism_tui.sim.testing import running_simulator
from ism_tui.sync import run_sync
from storage.sync_state import read_state


@pytest.fixture
def sim():
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


def _sync_children() -> list[int]:
    """This process's children that run ``ism-tui sync`` (Linux /proc)."""
    found = []
    for task in Path("/proc/self/task").iterdir():
        for pid in (task / "children").read_text().split():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"ism_tui" in argv and b"sync" in argv:
                found.append(int(pid))
    return found


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
async def test_closing_the_console_mid_sync_stops_it_and_the_next_sync_resumes(tmp_path, sim):
    sim.set_faults("latency=80ms")  # slow pages: the console closes mid-sync
    services = make_services(tmp_path, sim.world, url=sim.base_url, load=False)
    (tmp_path / "config.toml").write_text(
        f'[profiles.t]\nurl = "{sim.base_url}"\npage_size = 10\n', encoding="utf-8")
    app = make_app(services)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        for _ in range(600):  # until a page of workspaces is committed
            await pilot.pause(0.02)
            if "syncing workspaces ·" in screen(app) and "· 0 rows" not in screen(app):
                break
        assert app.syncing and _sync_children()
    for _ in range(250):
        if not _sync_children():
            break
        await asyncio.sleep(0.02)
    assert not _sync_children(), "the sync outlived the console"
    state = read_state(services.engine, "workspaces")
    assert state.full_sync_id is not None and state.resume_after_id is not None

    sim.set_faults(None)
    services.settings.settings.page_size = 1000
    report = await run_sync(services, resources=["workspaces"])
    workspaces = next(r for r in report.resources if r.resource == "workspaces")
    assert report.ok and 0 < workspaces.rows < len(sim.world.workspaces)  # resumed

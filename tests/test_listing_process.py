"""The sync's listing process: it lists what a sync in one process lists, loses nothing when it
dies, ends with the sync (even ``kill -9``), never sees the token in argv or environment, and
hands a listing over mid-keyset without skipping or repeating a page."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import FROZEN_NOW
from listing_support import spy_on_starts, use_listing
from test_sync import count, expected, intact, on_page, services_for

import ism_tui.listing.process as process_module
from ism_tui.api.client import ConsoleClient
from ism_tui.listing import protocol
from ism_tui.listing.page import ListedPage, local_page
from ism_tui.listing.sources import PageSources
from ism_tui.services import Services
from ism_tui.sim.testing import SimHandle, running_simulator
from ism_tui.sync import SyncProgress, run_sync
from storage.sync_state import table_name

TABLES = ("customers", "users", "invites", "workspaces", "usage", "usage_periods", "audit",
          "targets", "templates")


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


def table_rows(services: Services, table: str) -> list[tuple[Any, ...]]:
    with services.engine.connect() as conn:
        cols = [r[1] for r in conn.exec_driver_sql(f"PRAGMA table_info({table})")
                if r[1] != "sync_gen"]
        return list(conn.exec_driver_sql(
            f"SELECT {', '.join(cols)} FROM {table} ORDER BY id").all())


def test_the_listing_process_writes_exactly_what_a_sync_in_one_process_writes(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sim.set_faults("hostile,extra_fields")
    here = services_for(sim, tmp_path / "here", page_size=100)
    with monkeypatch.context() as patch:
        use_listing(patch, "here")
        assert asyncio.run(run_sync(here)).ok
    there = services_for(sim, tmp_path / "there", page_size=100)
    listing = use_listing(monkeypatch, "process")
    report = asyncio.run(run_sync(there))
    assert report.ok, report.errors
    # all but the first page of the first long pass and one-page passes listed before it
    assert sum(r.pages for r in report.resources) - 4 <= listing.pages_listed
    # the second phase's pages came as page tables: all of usage's, at least
    usage = next(r for r in report.resources if r.resource == "usage")
    assert usage.pages <= listing.tables_listed < listing.pages_listed
    for resource in TABLES:
        table = table_name(resource)
        assert table_rows(there, table) == table_rows(here, table) != [], table
    with here.engine.connect() as a, there.engine.connect() as b:
        blockers = "SELECT id, payload FROM blockers ORDER BY id"
        assert a.exec_driver_sql(blockers).all() == b.exec_driver_sql(blockers).all()


@pytest.mark.parametrize("resource", ["workspaces", "usage"])  # rows, then page tables
def test_the_listing_process_dying_mid_sync_loses_nothing(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture, resource: str) -> None:
    # A page ahead at most, so the listing is still going when the process dies (8 MiB ahead
    # would hold the whole second phase of the demo world).
    monkeypatch.setattr(process_module, "AHEAD_BYTES", 1)
    services = services_for(sim, tmp_path, page_size=30)
    listing = use_listing(monkeypatch, "process")
    kill = on_page(resource, 2, lambda: os.kill(listing.processes[0].pid, signal.SIGKILL))
    with caplog.at_level(logging.WARNING, logger="ism_tui.sync"):
        report = asyncio.run(run_sync(services, progress=kill))
    assert report.ok, report.errors
    for synced in ("workspaces", "users", "usage", "invites", "audit"):
        assert count(services, table_name(synced)) == expected(sim, synced), synced
    assert intact(services)
    assert "listing process ended unexpectedly (exit code -9)" in caplog.text
    assert f"listing the rest of {resource} in this process" in caplog.text
    assert listing.tables_listed > 0 if resource == "usage" else listing.tables_listed == 0


def test_a_listing_process_that_never_comes_up_leaves_the_sync_to_this_process(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(process_module, "WORKER", "ism_tui.listing.no_such_module")
    started = spy_on_starts(monkeypatch)
    services = services_for(sim, tmp_path, page_size=50)
    report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    assert started and started[0].pages_listed == 0
    assert count(services, "workspaces") == expected(sim, "workspaces") and intact(services)


def test_no_listing_process_when_the_profile_turns_it_off(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("a listing process was started")

    monkeypatch.setattr(process_module.ListingProcess, "start", refuse)
    services = services_for(sim, tmp_path)
    services.settings.settings.listing_process = False
    assert asyncio.run(run_sync(services)).ok
    assert count(services, "workspaces") == expected(sim, "workspaces")


def test_the_listing_process_runs_this_code_whatever_the_working_directory_holds(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = tmp_path / "cwd" / "ism_tui" / "listing"
    planted.mkdir(parents=True)
    for package in (planted.parent, planted):
        (package / "__init__.py").write_text("")
    marker = tmp_path / "planted-ran"
    (planted / "worker.py").write_text(f"open({str(marker)!r}, 'w').close()\nraise SystemExit(3)\n")
    monkeypatch.chdir(planted.parent.parent)
    services = services_for(sim, tmp_path / "cache", page_size=50)
    listing = use_listing(monkeypatch, "process")
    assert asyncio.run(run_sync(services)).ok
    assert not marker.exists() and listing.pages_listed > 0


def test_the_token_reaches_the_listing_process_through_its_stdin_only(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_for(sim, tmp_path, page_size=50)
    listing = use_listing(monkeypatch, "process")
    seen: dict[str, bytes] = {}

    def look(p: SyncProgress) -> None:
        if p.phase == "page" and not seen:
            pid = listing.processes[0].pid
            seen["argv"] = Path(f"/proc/{pid}/cmdline").read_bytes()
            seen["environ"] = Path(f"/proc/{pid}/environ").read_bytes()

    assert asyncio.run(run_sync(services, progress=look)).ok
    assert b"ism_tui.listing.worker" in seen["argv"]
    assert b"demo-operator" not in seen["argv"] and b"demo-operator" not in seen["environ"]


def test_retries_in_the_listing_process_are_logged_by_the_sync(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    sim.set_faults("error_rate=0.15")
    services = services_for(sim, tmp_path, page_size=100)
    listing = use_listing(monkeypatch, "process")
    with caplog.at_level(logging.INFO, logger="ism_tui.api"):
        report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    assert listing.pages_listed > 0
    retries = [r for r in caplog.records if r.name == "ism_tui.api" and "retry" in r.message]
    assert retries and all("demo-operator" not in r.message for r in caplog.records)


_SYNC_AND_WAIT = textwrap.dedent("""
    import asyncio, sys, time
    import ism_tui.listing.cpus
    import ism_tui.sync as sync
    from ism_tui.services import build_services

    ism_tui.listing.cpus.usable_cpus = lambda: 2.0  # as the tests' two_cpus fixture

    start = sync._start_listing_process
    def announce(services):
        process = start(services)
        while not process.ready:
            time.sleep(0.005)
        print(process.pid, flush=True)
        return process
    sync._start_listing_process = announce
    services = build_services(url=sys.argv[1], token="demo-operator", cache_dir=sys.argv[2])
    services.settings.settings.page_size = 5
    asyncio.run(sync.run_sync(services))
""")


def test_the_listing_process_ends_when_the_sync_is_killed(
        sim: SimHandle, tmp_path: Path) -> None:
    sim.set_faults("latency=0.05s")  # a slow Console: the sync is still listing when killed
    syncing = subprocess.Popen(
        [sys.executable, "-c", _SYNC_AND_WAIT, sim.base_url, str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[1])
    try:
        assert syncing.stdout is not None
        child = int(syncing.stdout.readline())
        os.kill(syncing.pid, signal.SIGKILL)
        syncing.wait()
        deadline = time.monotonic() + 15
        while _alive(child):
            assert time.monotonic() < deadline, "the listing process outlived its sync"
            time.sleep(0.05)
    finally:
        if syncing.poll() is None:
            syncing.kill()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended; its parent (init) reaps it


class _HandsOverAfter:
    """A listing process stand-in: up after ``local`` pages were listed here; its listings
    are the same keyset read by this process, starting where it was asked to."""

    def __init__(self, client: ConsoleClient, limit: int, local: int) -> None:
        self.client, self.limit, self.local = client, limit, local
        self.asked: list[str | None] = []
        self.calls = 0

    @property
    def ready(self) -> bool:
        self.calls += 1
        return self.calls > self.local

    def listing(self, resource: str, *, after_id: str | None, tables: bool = False) -> Any:
        self.asked.append(after_id)
        client, limit = self.client, self.limit

        class Pages:
            def __aiter__(self) -> AsyncIterator[ListedPage]:
                return self._pages()

            async def _pages(self) -> AsyncIterator[ListedPage]:
                start = after_id
                while True:
                    page = await local_page(client, resource, after_id=start,
                                            updated_since=None, limit=limit)
                    yield page
                    if not page.next_after_id:
                        return
                    start = page.next_after_id

            async def aclose(self) -> None:
                pass

        return Pages()


def test_a_listing_handed_over_mid_keyset_skips_and_repeats_nothing(sim: SimHandle) -> None:
    async def main() -> tuple[list[str], list[str | None], list[str]]:
        async with ConsoleClient(sim.base_url, "demo-operator") as client:
            fake = _HandsOverAfter(client, 25, local=3)
            sources = PageSources(client, 25, lambda: fake)  # type: ignore[arg-type,return-value]
            ids: list[str] = []
            last_local: list[str] = []
            async for page in sources.pages("workspaces", after_id=None, updated_since=None):
                ids += [row[0] for row in page.rows()]
                if not fake.asked:
                    last_local = [str(page.next_after_id)]
            return ids, fake.asked, last_local

    ids, asked, last_local = asyncio.run(main())
    assert len(ids) == len(set(ids)) == expected(sim, "workspaces")
    assert ids == sorted(ids)
    assert asked == last_local  # handed over once, from the last page listed here


def test_frames_survive_any_read_size() -> None:
    rows = [("ws-1", "näme [b]x[/b]\x1b[2J", None, 3, 1.5)] * 3
    page = (protocol.PAGE, 3, ["gone"], "ws-1", None, None)
    data = protocol.frame("workspaces", page, rows) + protocol.frame("", (protocol.READY,))
    for step in (1, 7, len(data)):
        at = 0

        def read(n: int, step: int = step) -> bytes:
            nonlocal at
            chunk = data[at:at + min(n, step)]
            at += len(chunk)
            return chunk

        name, meta, body = protocol.read_frame(read) or ("", (), b"")
        assert (name, meta, protocol.load_rows(body)) == ("workspaces", page, rows)
        assert protocol.read_frame(read) == ("", (protocol.READY,), b"")
        assert protocol.read_frame(read) is None


def test_api_errors_cross_the_process_with_their_type_and_message() -> None:
    from ism_tui.api.client import MalformedResponse
    from ism_tui.api.errors import RateLimited

    exc = process_module.error_from(
        (protocol.ERROR, "RateLimited", "rate limited (429)", 429, 2.0, "slow down"), "users")
    assert isinstance(exc, RateLimited) and exc.retry_after == 2.0 and str(exc) == (
        "rate limited (429)")
    exc = process_module.error_from(
        (protocol.ERROR, "MalformedResponse", "bad JSON", None, None, ""), "users")
    assert isinstance(exc, MalformedResponse)
    exc = process_module.error_from(
        (protocol.ERROR, "", "KeyError: 'apps'", None, None, ""), "workspaces")
    assert isinstance(exc, process_module.ListingFailed)
    assert str(exc) == "listing workspaces failed in the listing process: KeyError: 'apps'"



def test_a_sync_expecting_only_short_passes_starts_no_listing_process(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    started = spy_on_starts(monkeypatch)
    services = services_for(sim, tmp_path, token="demo-member")
    assert asyncio.run(run_sync(services)).ok  # never synced: lists may be long
    assert len(started) == 1
    # Usage, audit and usage periods are not permitted to a member: each sync tries a full pass
    # again, known to be empty, and the other resources are synced incrementally.
    report = asyncio.run(run_sync(services))
    assert report.ok and {r.resource for r in report.resources if r.skipped} == {
        "usage", "usage_periods", "audit"}
    assert len(started) == 1


def test_a_listing_process_still_starting_when_the_sync_ends_is_stopped(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_popen = subprocess.Popen
    children: list[subprocess.Popen[bytes]] = []

    def never_ready(_args: Any, **kwargs: Any) -> subprocess.Popen[bytes]:
        children.append(real_popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                   **kwargs))
        return children[-1]

    monkeypatch.setattr(process_module.subprocess, "Popen", never_ready)
    services = services_for(sim, tmp_path, page_size=50)
    report = asyncio.run(run_sync(services))  # never synced: the process starts at once
    assert report.ok and count(services, "workspaces") == expected(sim, "workspaces")
    assert len(children) == 1
    children[0].wait(timeout=5)  # killed when the sync ended, not after its 60 s


def test_the_second_phase_is_asked_for_while_workspaces_are_still_being_finished(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    services = services_for(sim, tmp_path, page_size=50)
    use_listing(monkeypatch, "process")
    events: list[tuple[str, str]] = []
    asked = process_module.ListingProcess.listing

    def record(self: Any, resource: str, **kwargs: Any) -> Any:
        events.append((resource, "asked"))
        return asked(self, resource, **kwargs)

    monkeypatch.setattr(process_module.ListingProcess, "listing", record)
    report = asyncio.run(run_sync(services, progress=lambda p: events.append(
        (p.resource, p.phase))))
    assert report.ok, report.errors
    workspaces_done = events.index(("workspaces", "done"))
    for later in ("usage", "users", "invites", "usage_periods", "audit"):
        # asked for before the workspace indexes were rebuilt; written only after
        assert events.index((later, "asked")) < workspaces_done < events.index((later, "start"))

"""Helpers for Pilot and snapshot tests: a demo cache behind an ISMApp, and screen text."""

from __future__ import annotations

import hashlib
import html
import re
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
from conftest import FROZEN_NOW, load_world_into_cache

CELL = 12.2  # width of one cell in Rich's SVG export
WAIT = 10.0  # seconds a Pilot test waits for the console to get somewhere (a loaded machine)
SETTLE = 0.1  # seconds between frames compared by ``settled``: the filter box's debounce
DOWN_URL = "http://127.0.0.1:9/api/v2"  # nothing listens there: the console works offline


def frozen() -> Any:
    return FROZEN_NOW


def make_services(tmp_path: Path, world: Any, *, token: str = "demo-operator",
                  url: str = DOWN_URL, read_only: bool = False, load: bool = True,
                  extra_config: str = "") -> Any:
    """Services on a fresh cache holding ``world`` as ``token`` sees it, blockers computed;
    ``extra_config``: more lines for the profile's section."""
    from ism_tui.api.client import RetryPolicy
    from ism_tui.config_light import cache_file
    from ism_tui.services import build_services

    config = tmp_path / "config.toml"
    config.write_text(f'[profiles.t]\nurl = "{url}"\nexport_dir = "{tmp_path / "exports"}"\n'
                      f"stale_after = 999999999\n{extra_config}", encoding="utf-8")
    if load:
        target = cache_file(tmp_path / "cache", "t")
        target.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(_loaded_cache(tmp_path, world, token))) as src, \
                closing(sqlite3.connect(target)) as dst:
            src.backup(dst)
    services = build_services("t", config, token=token, cache_dir=tmp_path / "cache",
                              read_only=read_only)
    services.retry = RetryPolicy(attempts=1)
    return services


# Loaded caches by (world content, token), made once in this test process and copied for each
# test: loading the demo world and computing its blockers is most of a Pilot test's set-up.
_LOADED: dict[tuple[bytes, str], Path] = {}


def _loaded_cache(tmp_path: Path, world: Any, token: str) -> Path:
    from ism_tui.services import build_services
    from ism_tui.triage.store import recompute_blockers
    from storage.usage_rollups import refresh_usage_daily

    key = (hashlib.blake2b(orjson.dumps(world), digest_size=16).digest(), token)
    if key not in _LOADED or not _LOADED[key].exists():
        where = tmp_path.parent / "loaded-caches" / f"{key[0].hex()}-{token}"
        where.mkdir(parents=True, exist_ok=True)
        config = where / "config.toml"
        config.write_text(f'[profiles.t]\nurl = "{DOWN_URL}"\n', encoding="utf-8")
        services = build_services("t", config, token=token, cache_dir=where)
        load_world_into_cache(services.engine, world, token)
        recompute_blockers(services.engine, clock=frozen)
        refresh_usage_daily(services.engine)
        _LOADED[key] = services.cache.path
        services.close()
    return _LOADED[key]


def steady_cursors(app: Any) -> None:
    """Text cursors shown and not blinking, so a screenshot does not depend on when it is
    taken within the blink (0.5 s)."""
    from textual.widgets import Input

    for box in app.screen.query(Input):
        box.cursor_blink = False


def make_app(services: Any) -> Any:
    from ism_tui.app import ISMApp

    return ISMApp(services, clock=frozen, sync_on_start=False)


_TEXT = re.compile(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', re.S)


def svg_text(svg: str) -> str:
    """The screen as plain text lines, rebuilt from the SVG export (for assertions)."""
    rows: dict[float, list[tuple[int, str]]] = {}
    for x, y, body in _TEXT.findall(svg):
        rows.setdefault(float(y), []).append((round(float(x) / CELL), html.unescape(body)))
    lines = []
    for y in sorted(rows):
        line = ""
        for col, body in sorted(rows[y]):
            body = body.replace("\u00a0", " ").rstrip("\n")
            line = line.ljust(col) + body
        lines.append(line.rstrip())
    return "\n".join(lines)


def screen(app: Any) -> str:
    return svg_text(app.export_screenshot())


def normalise_svg(svg: str) -> str:
    """Stable snapshots: Rich names its CSS classes after a content hash."""
    return re.sub(r"terminal-\d+", "terminal", svg)


async def until(pilot: Any, condition: Callable[[], bool], what: str,
                timeout: float = WAIT) -> None:
    """Let the app run until ``condition()`` holds; fail naming ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await pilot.pause(0.02)


async def until_shown(pilot: Any, app: Any, *texts: str, timeout: float = WAIT) -> str:
    """Let the app run until every one of ``texts`` is on screen; returns the screen's text.
    On a timeout the failure shows the screen as it was."""
    shown = ""

    def there() -> bool:
        nonlocal shown
        shown = screen(app)
        return all(t in shown for t in texts)

    try:
        await until(pilot, there, " and ".join(map(repr, texts)), timeout)
    except AssertionError as exc:
        raise AssertionError(f"{exc}; the screen:\n{shown}") from None
    return shown


async def settled(pilot: Any, app: Any, timeout: float = WAIT) -> str:
    """Let the app run until its workers are done and two frames in a row, ``SETTLE`` apart,
    are alike (a debounced refresh or a message still queued changes the next one); returns
    the SVG."""
    last = ""
    deadline = time.monotonic() + timeout
    while True:
        await app.workers.wait_for_complete()
        await pilot.pause(SETTLE)
        svg = str(app.export_screenshot())
        if svg == last:
            return svg
        if time.monotonic() > deadline:
            raise AssertionError(f"the screen still changed after {timeout} s")
        last = svg


def seed_trail_history(services: Any) -> None:
    """A trail with a past: a first look an hour before the session the tests open, when one
    blocker was already gone (with the lead's note) and another not there yet; then, after the
    lead's last session ended, a sync where the first came back and the second appeared."""
    from datetime import timedelta

    from ism_tui.triage.trail import Trail
    from storage.triage_io import blocker_heads

    heads = blocker_heads(services.cache)
    back = next(h for h in heads if h["case"] == "invite_consumed")
    late = next(h for h in heads if h["case"] == "target_unavailable")
    gone = {**back, "blocker_id": "invite_expired:inv-gone", "case": "invite_expired",
            "summary": "invite for gone@example.com is expired"}

    def at(minutes: int) -> Trail:
        return Trail(services.trail_store, services.lead,
                     lambda: FROZEN_NOW - timedelta(minutes=minutes))

    early = at(120)
    early.record_sync([h for h in heads if h is not late] + [gone])
    early.set_note(back["blocker_id"], back, "customer admin said they would reissue it")
    early.set_state(back["blocker_id"], back, "waiting")
    at(110).record_sync([h for h in heads if h is not late and h is not back] + [gone])
    session, _ = services.trail_store.start_session(services.lead(), str(at(100).now()))
    services.trail_store.touch_session(session, str(at(90).now()))
    at(30).record_sync(heads)  # the lead was away: gone resolved, back reopened, late new

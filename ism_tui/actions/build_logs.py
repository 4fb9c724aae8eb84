"""Build logs for a viewer: fetch new lines from the Console, then read them from the cache.

``BuildLogService.poll`` is one follow-mode step: fetch the lines after the last cached id
(paged), store them, and say whether the build still runs; ``follow`` repeats it until the build
ends. Everything a viewer shows comes from the cache (``storage.build_logs``: windows, search,
tail, marks), so it stays responsive on a slow link and works offline.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES
from storage import build_logs as store
from storage.build_logs import BuildLogInfo, LogLine

MAX_PAGES_PER_POLL = 50


@dataclass(frozen=True)
class LogPoll:
    """One follow step: the new lines (oldest first) and the build's job status."""

    lines: list[LogLine]
    job_status: str | None
    error: str | None = None  # why fetching failed (cached lines are still readable)

    @property
    def running(self) -> bool:
        return self.job_status in ACTIVE_JOB_STATUSES


class BuildLogService:
    """Fetch and read the logs of builds for one ``Services``."""

    def __init__(self, services: Any, page_size: int = 1000) -> None:
        self.services = services
        self.engine = services.engine
        self.page_size = page_size

    # -------------------------------------------------------------- cache reads (sync, fast)

    def info(self, build_id: str) -> BuildLogInfo:
        return store.info(self.engine, build_id)

    def window(self, build_id: str, offset: int, limit: int) -> list[LogLine]:
        return store.read_window(self.engine, build_id, offset, limit)

    def tail(self, build_id: str, n: int = 50) -> list[LogLine]:
        return store.tail(self.engine, build_id, n)

    def search(self, build_id: str, query: str, after_id: int | None = None,
               limit: int = 200) -> list[LogLine]:
        return store.search(self.engine, build_id, query, limit, after_id)

    def position_of(self, build_id: str, log_id: int) -> int:
        return store.position_of(self.engine, build_id, log_id)

    def error_lines(self, build_id: str, limit: int = 50) -> list[LogLine]:
        return store.error_lines(self.engine, build_id, limit)

    def save(self, build_id: str, path: Path | str) -> int:
        """Save the scrubbed log to a file (0600); returns the lines written."""
        return store.save_to_file(self.engine, build_id, path)

    def job_status(self, build_id: str) -> str | None:
        """The cached job status of a workspace's latest build (None if not cached)."""
        from sqlalchemy import text

        with self.engine.connect() as conn:
            row = conn.execute(
                text("SELECT build_job_status FROM workspaces WHERE build_id = :b LIMIT 1"),
                {"b": build_id},
            ).first()
        return row[0] if row else None

    # -------------------------------------------------------------- Console fetches (async)

    async def fetch(self, build_id: str) -> int:
        """Fetch every line after the last cached one; returns how many were stored."""
        added, _status = await self._fetch(build_id, with_status=False)
        return added

    async def _fetch(self, build_id: str, with_status: bool) -> tuple[int, str | None]:
        from ism_tui.api.models import BuildLog
        from storage.rows import build_log_row

        after = await asyncio.to_thread(store.last_log_id, self.engine, build_id)
        added = 0
        status: str | None = None
        async with self.services.client() as client:
            for _ in range(MAX_PAGES_PER_POLL):
                page = await client.build_logs(build_id, after=after, limit=self.page_size)
                items: list[BuildLog] = list(page.items)
                if items:
                    rows = [build_log_row(x.model_dump(mode="json")) for x in items]
                    await asyncio.to_thread(store.store_log_rows, self.engine, rows)
                    added += len(rows)
                    after = items[-1].id
                if not items or page.next_after_id is None:
                    break
            if with_status:
                build = await client.get_build(build_id)
                status = build.job_status
        if added:  # a failed create's escalation quotes the last lines: now they are cached
            await asyncio.to_thread(_retriage, self.engine, build_id)
        return added, status

    async def poll(self, build_id: str, after_id: int | None) -> LogPoll:
        """New lines after ``after_id`` (fetched from the Console first) and the job status.
        A fetch failure is reported in ``error``; cached lines are returned regardless."""
        error: str | None = None
        status: str | None = None
        try:
            _added, status = await self._fetch(build_id, with_status=True)
        except Exception as exc:  # offline or refused: the viewer keeps showing the cache
            from ism_tui.redact import scrub

            error = scrub(str(exc) or exc.__class__.__name__, 300)
        if status is None:
            status = await asyncio.to_thread(self.job_status, build_id)
        lines = await asyncio.to_thread(store.read_after, self.engine, build_id, after_id,
                                        100_000)
        return LogPoll(lines, status, error)

    async def follow(
        self, build_id: str, on_poll: Callable[[LogPoll], Awaitable[None] | None], *,
        after_id: int | None = None, interval: float = 1.0, stop: asyncio.Event | None = None,
        max_errors: int = 5,
    ) -> int | None:
        """Poll until the build ends (one last poll after), ``stop`` is set or ``max_errors``
        fetches in a row failed. Calls ``on_poll`` for each step; returns the last line id."""
        errors = 0
        while True:
            step = await self.poll(build_id, after_id)
            if step.lines:
                after_id = step.lines[-1].id
            result = on_poll(step)
            if asyncio.iscoroutine(result):
                await result
            errors = errors + 1 if step.error else 0
            if not step.running or errors >= max_errors or (stop is not None and stop.is_set()):
                return after_id
            if stop is None:
                await asyncio.sleep(interval)
            else:
                try:
                    await asyncio.wait_for(stop.wait(), interval)
                except TimeoutError:
                    pass


def _retriage(engine: Any, build_id: str) -> None:
    """Recompute the blockers of the workspace whose latest build is ``build_id``."""
    from ism_tui.triage.store import recompute_blockers
    from storage.triage_io import Scope, workspaces_of_build

    found = workspaces_of_build(engine, build_id)
    if found:
        recompute_blockers(engine, scope=Scope(workspaces=found))

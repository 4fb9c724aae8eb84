"""A build's logs and job status, fetched from the Console into the cache for the log viewer.

The viewer shows only what the cache holds (``storage.build_logs``: windows, search, marks), so
it stays responsive on a slow link and keeps working offline; these calls add to it.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES
from storage import build_logs as store

if TYPE_CHECKING:
    from ism_tui.services import Services


async def fetch_build_logs(services: Services, build_id: str, *, page_size: int = 1000) -> int:
    """Fetch a build's log lines after the last cached one; returns how many were added."""
    from storage.rows import build_log_row

    after = await asyncio.to_thread(store.last_log_id, services.engine, build_id)
    added = 0
    async with services.client() as client:
        while True:
            page = await client.build_logs(build_id, after=after, limit=page_size)
            if page.items:
                rows = [build_log_row(x.model_dump(mode="json")) for x in page.items]
                await asyncio.to_thread(store.store_log_rows, services.engine, rows)
                added += len(rows)
                after = page.items[-1].id
            if not page.items or page.next_after_id is None:
                break
    if added:  # a failed create's escalation quotes the last lines: now they are cached
        await asyncio.to_thread(_retriage, services.engine, build_id)
    return added


async def fetch_build_status(services: Services, build_id: str) -> str:
    """A build's job status from the Console; once the build has ended, its workspace is
    re-synced so the cache (and every list) shows how it ended."""
    from ism_tui.sync import sync_object

    async with services.client() as client:
        build = await client.get_build(build_id)
    if build.job_status not in ACTIVE_JOB_STATUSES:
        await sync_object(services, "workspaces", build.workspace_id)
    return build.job_status


def _retriage(engine: Any, build_id: str) -> None:
    """Recompute the blockers of the workspace whose latest build is ``build_id``."""
    from ism_tui.triage.store import recompute_blockers
    from storage.triage_io import Scope, workspaces_of_build

    found = workspaces_of_build(engine, build_id)
    if found:
        recompute_blockers(engine, scope=Scope(workspaces=found))

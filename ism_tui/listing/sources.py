"""Where a sync's resources get their pages: this process, or the listing process once it is up.

The listing process is started at once when a long full pass is expected, else by the first
full pass that has a second page (a Console whose resources fit in one page each never starts
one, nor does a pass the token may not list). Passes go on listing here while the child starts
(its imports take ~0.4 s), then hand the rest of the keyset over to it from the next
``after_id``. Incremental passes always list here: they
move few rows.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Callable
from typing import TYPE_CHECKING

from ism_tui.listing.page import ListedPage, local_page
from ism_tui.listing.process import ListingProcessDied
from storage.page_tables import SUPPORTED as TABLES

if TYPE_CHECKING:
    from ism_tui.api.client import ConsoleClient
    from ism_tui.listing.process import ListingProcess, ProcessListing

log = logging.getLogger("ism_tui.sync")


class PageSources:
    def __init__(self, client: ConsoleClient, limit: int,
                 start_process: Callable[[], ListingProcess | None] | None = None) -> None:
        self._client = client
        self._limit = limit
        self._start_process = start_process
        self._process: ListingProcess | None = None
        self._early: dict[str, ProcessListing] = {}
        self._then: dict[str, list[tuple[str, str | None]]] = {}

    def start_now(self) -> None:
        """Start the listing process now, when a long full pass is expected: its start-up
        then overlaps the sync's own."""
        self._started()

    def _started(self) -> ListingProcess | None:
        """The listing process, started on first use (None: none, or it could not start)."""
        if self._start_process is not None:
            start, self._start_process = self._start_process, None
            self._process = start()
        return self._process

    def _prefetch(self, resource: str, after_id: str | None) -> None:
        """Have the listing process start on ``resource`` now, ahead of its writes (only if it
        is up: otherwise the pass lists here when it starts)."""
        if self._process is not None and self._process.ready and resource not in self._early:
            self._early[resource] = self._process.listing(resource, after_id=after_id,
                                                          tables=TABLES)

    def prefetch_after(self, resource: str, then: list[tuple[str, str | None]]) -> None:
        """Once ``resource``'s listing has ended (or failed), start listing each (resource,
        after_id) of ``then`` (started only if the child is up), its pages as page tables."""
        self._then[resource] = then

    async def pages(self, resource: str, *, after_id: str | None, updated_since: str | None,
                    tables: bool = False) -> AsyncGenerator[ListedPage, None]:
        """Every page of ``resource`` from ``after_id`` (incremental: changed since).
        ``tables``: pages from the listing process come as ``storage.page_tables``
        databases."""
        early = self._early.pop(resource, None)
        full = updated_since is None
        process = self._process if full else None
        tables = tables and TABLES
        try:
            while True:
                if process is not None and process.ready:
                    early = early or process.listing(resource, after_id=after_id,
                                                     tables=tables)
                    try:
                        async for page in early:
                            yield page
                            if _last(page, after_id):
                                return
                            after_id = page.next_after_id
                        return
                    except ListingProcessDied as exc:
                        log.warning("%s; listing the rest of %s in this process", exc, resource)
                        process = None
                if early is not None:  # asked for ahead, but the child is not up: list here
                    await early.aclose()
                    early = None
                page = await local_page(self._client, resource, after_id=after_id,
                                        updated_since=updated_since, limit=self._limit)
                yield page
                if _last(page, after_id):
                    return
                after_id = page.next_after_id
                if full and process is None and self._process is None:
                    process = self._started()  # a second page: worth a second core
        finally:
            if early is not None:
                await early.aclose()
            for name, start in self._then.pop(resource, ()):
                self._prefetch(name, start)

    async def aclose(self) -> None:
        """Stop the listings prefetched for passes that never ran, and end the listing
        process (its memory goes back before the after-sync work)."""
        for early in self._early.values():
            await early.aclose()
        self._early.clear()
        self._start_process = None
        if self._process is not None:
            await self._process.close()


def _last(page: ListedPage, after_id: str | None) -> bool:
    return not page.next_after_id or page.next_after_id == after_id

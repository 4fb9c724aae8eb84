"""One listed page as the sync writes it, wherever it was listed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from storage.rows import make_rows, newest_updated
from storage.stamps import iso

if TYPE_CHECKING:
    from ism_tui.api.client import ConsoleClient, PageResult
    from storage.page_tables import PageTable
    from storage.rows import Row


@dataclass
class ListedPage:
    """A page's cache rows (made on demand, in the writer thread), tombstones and keyset."""

    # the rows, or a database of them (``storage.page_tables``), as the upsert takes either
    rows: Callable[[], list[Row] | PageTable]
    count: int
    deleted: list[str]
    next_after_id: str | None
    # The latest ``updated_at`` of a page table's objects, as cache text (the incremental
    # cursor); None for rows (the writer reads it off them) or a page with no objects.
    newest: str | None
    # The server's clock when it answered, as cache text (its ``Date`` header), if it sent one.
    served_at: str | None


def page_facts(resource: str, page: PageResult, rows: Sequence[Row] | None = None
               ) -> tuple[int, list[str], str | None, str | None, str | None]:
    """What a ``ListedPage`` holds besides its rows: object count, tombstones, next keyset,
    newest ``updated_at`` and the server's clock, all as cache text. ``rows``: the page's rows
    when they go as a page table; for rows the writer binds, the newest ``updated_at`` is left
    to the writer, which reads it off them (``storage.rows.newest_updated``)."""
    newest = newest_updated(resource, rows) if rows is not None else None
    return (len(page.items), page.deleted, page.next_after_id, newest, iso(page.served_at))


async def local_page(client: ConsoleClient, resource: str, *, after_id: str | None,
                     updated_since: str | None, limit: int) -> ListedPage:
    """One page listed in this process (its rows are made later, by the writer)."""
    page = await client.page(resource, after_id=after_id, updated_since=updated_since,
                             limit=limit)
    return ListedPage(functools.partial(make_rows, resource, page.items),
                      *page_facts(resource, page))

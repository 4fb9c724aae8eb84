"""One listed page as the sync writes it, wherever it was listed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from storage.rows import make_rows
from storage.stamps import iso

if TYPE_CHECKING:
    from ism_tui.api.client import ConsoleClient, PageResult
    from storage.rows import Row


@dataclass
class ListedPage:
    """A page's cache rows (made on demand, in the writer thread), tombstones and keyset."""

    rows: Callable[[], list[Row]]
    count: int
    deleted: list[str]
    next_after_id: str | None
    # The latest ``updated_at`` of the page's objects, as cache text (the incremental cursor).
    newest: str | None
    # The server's clock when it answered, as cache text (its ``Date`` header), if it sent one.
    served_at: str | None


def page_facts(page: PageResult) -> tuple[int, list[str], str | None, str | None, str | None]:
    """What a ``ListedPage`` holds besides its rows: object count, tombstones, next keyset,
    newest ``updated_at`` and the server's clock, all as cache text."""
    return (len(page.items), page.deleted, page.next_after_id, _newest(page.items),
            iso(page.served_at))


def _newest(items: Sequence[Any]) -> str | None:
    if not items:
        return None
    try:
        return iso(max(item.updated_at for item in items))
    except TypeError:  # naive and aware timestamps mixed: compare them as cache text
        return max(str(iso(item.updated_at)) for item in items)


async def local_page(client: ConsoleClient, resource: str, *, after_id: str | None,
                     updated_since: str | None, limit: int) -> ListedPage:
    """One page listed in this process (its rows are made later, by the writer)."""
    page = await client.page(resource, after_id=after_id, updated_since=updated_since,
                             limit=limit)
    return ListedPage(functools.partial(make_rows, resource, page.items), *page_facts(page))

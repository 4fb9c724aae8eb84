"""One listed page as the sync writes it, wherever it was listed."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from storage.stamps import iso

if TYPE_CHECKING:
    from ism_tui.api.client import ConsoleClient
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


def newest_of(items: Sequence[Any]) -> str | None:
    """The latest ``updated_at`` of validated objects, as cache text."""
    if not items:
        return None
    try:
        return iso(max(item.updated_at for item in items))
    except TypeError:  # naive and aware timestamps mixed: compare them as cache text
        return max(str(iso(item.updated_at)) for item in items)


def served_text(when: datetime | None) -> str | None:
    return iso(when.astimezone(UTC)) if when is not None else None


def make_rows(resource: str, items: Sequence[Any], chunk: int = 500) -> list[Row]:
    """Cache rows of validated objects, through their JSON-shaped dicts ``chunk`` at a time:
    a 5,000-object page's dicts all at once held ~20 MB more at the peak."""
    from storage.rows import ROW_MAKERS, wire_dicts

    make = ROW_MAKERS[resource]
    rows: list[Row] = []
    for start in range(0, len(items), chunk):
        rows += map(make, wire_dicts(items[start:start + chunk]))
    return rows


async def local_page(client: ConsoleClient, resource: str, *, after_id: str | None,
                     updated_since: str | None, limit: int) -> ListedPage:
    """One page listed in this process (its rows are made later, by the writer)."""
    page = await client.page(resource, after_id=after_id, updated_since=updated_since,
                             limit=limit)
    return ListedPage(functools.partial(make_rows, resource, page.items), len(page.items),
                      page.deleted, page.next_after_id, newest_of(page.items),
                      served_text(page.served_at))

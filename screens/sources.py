"""Adapters from ``storage.queries`` listings to the window table's ``Source`` protocol."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

from storage.dbapi import RowDict
from storage.queries import SPARSE_SHARE, Listing, Within

if TYPE_CHECKING:
    from sqlalchemy import Engine

PREFETCH = 200  # rows of the first window read while the count runs
SPLIT_MIN = 20_000  # rows from which a filtered count runs as two halves on two cores
# SQLite releases the GIL while it steps a query, so the count and the first window of a new
# filter run side by side on two cores: a keystroke costs one scan's time, not two.
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="ism-window")

Key = tuple[str, str | None, bool]
# A filter's text -> (the words the listing matches, the keys the other words select)
Restrict = Callable[[str], tuple[str, Within | None]]


class ListingSource:
    """``restrict``: filter words another store answers (the Triage tab's trail words);
    ``annotate``: adds that store's fields to each window's rows."""

    def __init__(self, engine: Engine, listing: Listing, *, restrict: Restrict | None = None,
                 annotate: Callable[[list[RowDict]], None] | None = None) -> None:
        self.engine = engine
        self.listing = listing
        self.restrict = restrict
        self.annotate = annotate
        self._restricted: tuple[str, str, Within | None] | None = None
        self._counted: tuple[str, int] | None = None  # the last exact count of a filter
        self._total: int | None = None
        self._sort: str | None = None
        self._descending = False
        self._prefetch: tuple[Key, Future[list[RowDict]]] | None = None
        # where a filtered count splits (a big table only): found on the pool after the first
        # count, so the first paint does not wait for it
        self._pivot: Future[str | None] | None = None

    def _split(self, filter_text: str, fresh: bool = False) -> tuple[str, Within | None]:
        """The listing's words and the restriction of ``filter_text`` (worked out again on
        each count: a count follows every reload, so an edit in the other store shows)."""
        if self.restrict is None:
            return filter_text, None
        if fresh or self._restricted is None or self._restricted[0] != filter_text:
            self._restricted = (filter_text, *self.restrict(filter_text))
        return self._restricted[1], self._restricted[2]

    def _window(self, offset: int, limit: int, filter_text: str, sort: str | None,
                descending: bool, sparse: bool = False) -> list[RowDict]:
        text, within = self._split(filter_text)
        rows = self.listing.window(self.engine, offset, limit, text, sort, descending, sparse,
                                   within=within)
        if self.annotate is not None:
            self.annotate(rows)
        return rows

    def count(self, filter_text: str, at_most: int | None = None) -> int:
        """Rows matching ``filter_text``, or ``at_most`` if there are at least that many."""
        key = (filter_text, self._sort, self._descending)
        text, within = self._split(filter_text, fresh=True)
        self._prefetch = (key, _POOL.submit(self._window, 0, PREFETCH, filter_text, self._sort,
                                            self._descending))
        pivot = self._pivot.result() if filter_text and self._pivot is not None else None
        if pivot is not None:  # half here, half on the pool, together
            lower = _POOL.submit(self.listing.count, self.engine, text, ("<", pivot),
                                 at_most, within)
            n = (self.listing.count(self.engine, text, (">=", pivot), at_most, within)
                 + lower.result())
        else:
            n = self.listing.count(self.engine, text, at_most=at_most, within=within)
        if at_most is not None and n >= at_most:
            return at_most  # at least that many: not a count the sparse plan can use
        self._counted = (filter_text, n)
        if not filter_text:
            self._total = n
            if self._pivot is None and n >= SPLIT_MIN:
                self._pivot = _POOL.submit(self.listing.pivot, self.engine, n)
        return n

    def _sparse(self, filter_text: str, sort: str | None) -> bool:
        """Few matches, sorted on a key with no covering index: scan and sort instead."""
        if (sort or self.listing.default_sort) == self.listing.default_sort:
            return False  # the default sort's index covers the filtered columns
        if not filter_text or not self._counted or self._counted[0] != filter_text:
            return False
        if self._total is None:
            self._total = self.listing.count(self.engine, "")
        return self._counted[1] < self._total * SPARSE_SHARE

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[RowDict]:
        self._sort, self._descending = sort, descending
        prefetch, self._prefetch = self._prefetch, None
        if prefetch is not None:
            key, future = prefetch
            if offset == 0 and limit <= PREFETCH and key == (filter_text, sort, descending):
                return future.result()[:limit]
        return self._window(offset, limit, filter_text, sort, descending,
                            self._sparse(filter_text, sort))

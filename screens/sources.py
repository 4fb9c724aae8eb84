"""Adapters from ``storage.queries`` listings to the window table's ``Source`` protocol."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from storage.queries import SPARSE_SHARE, Listing


class ListingSource:
    def __init__(self, engine: Engine, listing: Listing) -> None:
        self.engine = engine
        self.listing = listing
        self._counted: tuple[str, int] | None = None
        self._total: int | None = None

    def count(self, filter_text: str) -> int:
        n = self.listing.count(self.engine, filter_text)
        self._counted = (filter_text, n)
        if not filter_text:
            self._total = n
        return n

    def _sparse(self, filter_text: str) -> bool:
        if not filter_text or not self._counted or self._counted[0] != filter_text:
            return False
        if self._total is None:
            self._total = self.listing.count(self.engine, "")
        return self._counted[1] < self._total * SPARSE_SHARE

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[dict[str, Any]]:
        return self.listing.window(self.engine, offset, limit, filter_text, sort, descending,
                                   self._sparse(filter_text))

"""Adapters from ``storage.queries`` listings to the window table's ``Source`` protocol."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from storage.queries import Listing


class ListingSource:
    def __init__(self, engine: Engine, listing: Listing) -> None:
        self.engine = engine
        self.listing = listing

    def count(self, filter_text: str) -> int:
        return self.listing.count(self.engine, filter_text)

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[dict[str, Any]]:
        return self.listing.window(self.engine, offset, limit, filter_text, sort, descending)

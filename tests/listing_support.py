"""Test helper: run syncs with their pages listed here, or by a listing process that is up
before the first page (so that it lists every page of every full pass)."""

from __future__ import annotations

import time
from typing import Any

import pytest

import ism_tui.sync as sync_module
from ism_tui.listing.process import ListingProcess


class Listing:
    def __init__(self, where: str) -> None:
        self.where = where
        self.processes: list[ListingProcess] = []

    @property
    def pages_listed(self) -> int:
        return sum(p.pages_listed for p in self.processes)

    @property
    def tables_listed(self) -> int:
        return sum(p.tables_listed for p in self.processes)


def use_listing(monkeypatch: pytest.MonkeyPatch, where: str) -> Listing:
    listing = Listing(where)
    if where == "here":
        monkeypatch.setattr(sync_module, "_start_listing_process", lambda services: None)
        return listing
    start = sync_module._start_listing_process

    def started_and_up(services: Any) -> ListingProcess:
        process = start(services)
        assert process is not None
        deadline = time.monotonic() + 30
        while not process.ready:
            assert time.monotonic() < deadline, "the listing process did not come up"
            time.sleep(0.005)
        listing.processes.append(process)
        return process

    monkeypatch.setattr(sync_module, "_start_listing_process", started_and_up)
    return listing


def spy_on_starts(monkeypatch: pytest.MonkeyPatch) -> list[ListingProcess]:
    """Every listing process started from now on (the real ones, recorded)."""
    started: list[ListingProcess] = []
    real_start = ListingProcess.start.__func__  # type: ignore[attr-defined]

    def spy(cls: Any, *args: Any, **kwargs: Any) -> ListingProcess:
        started.append(real_start(cls, *args, **kwargs))
        return started[-1]

    monkeypatch.setattr(ListingProcess, "start", classmethod(spy))
    return started

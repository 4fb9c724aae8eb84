"""The console's table reads (``storage.queries`` listings) on the demo cache: counts, split
counts and windows, through the SQLAlchemy engine and through the plain sqlite3 ``Cache``."""

from __future__ import annotations

import pytest

import screens.sources as sources
from screens.sources import ListingSource
from storage.db import Cache
from storage.queries import BLOCKED_WORD, WORKSPACES

FILTERS = ["", "a", "api", "ws-0001", BLOCKED_WORD, "northwind", "zzz-nothing", "%", "_"]


@pytest.mark.parametrize("text", FILTERS)
def test_a_count_split_in_halves_adds_up(demo_engine, text: str) -> None:
    total = WORKSPACES.count(demo_engine)
    pivot = WORKSPACES.pivot(demo_engine, total)
    assert pivot is not None
    lower = WORKSPACES.count(demo_engine, text, ("<", pivot))
    upper = WORKSPACES.count(demo_engine, text, (">=", pivot))
    assert lower + upper == WORKSPACES.count(demo_engine, text)
    if not text:
        assert abs(lower - upper) <= 1  # the median: even halves


def test_any_pivot_counts_right_and_a_bad_half_is_refused(demo_engine) -> None:
    for pivot in ("", "a", "m", "\uffff"):
        assert (WORKSPACES.count(demo_engine, "a", ("<", pivot))
                + WORKSPACES.count(demo_engine, "a", (">=", pivot))
                == WORKSPACES.count(demo_engine, "a"))
    with pytest.raises(ValueError):
        WORKSPACES.count(demo_engine, "a", ("; DROP TABLE workspaces; --", "m"))


def test_the_source_splits_a_big_tables_count(demo_engine, monkeypatch) -> None:
    monkeypatch.setattr(sources, "SPLIT_MIN", 1)  # the demo as if it were big
    source = ListingSource(demo_engine, WORKSPACES)
    total = source.count("")
    assert source._pivot is not None and source._pivot.result() is not None  # found aside
    for text in FILTERS[1:]:
        assert source.count(text) == WORKSPACES.count(demo_engine, text)
    assert source.count("") == total


def test_the_cache_reads_what_the_engine_reads(demo_engine) -> None:
    cache = Cache(demo_engine.url.database)
    try:
        for text in ("", "api", BLOCKED_WORD):
            assert WORKSPACES.count(cache, text) == WORKSPACES.count(demo_engine, text)
            assert WORKSPACES.window(cache, 0, 50, text, "status", True) == \
                WORKSPACES.window(demo_engine, 0, 50, text, "status", True)
        assert cache._engine is None  # reads alone never made the SQLAlchemy engine
        with cache.begin() as conn:  # where an Engine is expected, the cache makes one
            conn.exec_driver_sql("UPDATE workspaces SET name = 'renamed' WHERE id = "
                                 "(SELECT MIN(id) FROM workspaces)")
        assert cache._engine is not None
        assert WORKSPACES.count(cache, "renamed") == WORKSPACES.count(demo_engine, "renamed") == 1
    finally:
        cache.dispose()


@pytest.mark.parametrize("text", FILTERS)
def test_a_capped_count_stops_at_its_cap_and_is_exact_below_it(demo_engine, monkeypatch,
                                                               text: str) -> None:
    exact = WORKSPACES.count(demo_engine, text)
    for cap in (1, 3, max(exact, 1), exact + 5):
        assert WORKSPACES.count(demo_engine, text, at_most=cap) == min(exact, cap)
    monkeypatch.setattr(sources, "SPLIT_MIN", 1)  # the halves capped alike
    source = ListingSource(demo_engine, WORKSPACES)
    source.count("")
    for cap in (1, 3, exact + 5):
        assert source.count(text, at_most=cap) == min(exact, cap)
    assert source.count(text) == exact

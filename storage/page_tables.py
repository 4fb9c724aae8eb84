"""A page's cache rows as a small SQLite database: made where the page was listed, copied into
the cache by one ``INSERT ... SELECT``.

In a full sync's second phase (usage, users, invites... after the workspaces) the writer
thread sets the pace, and the listing process idles. There the listing process ships each
page as a serialized in-memory database holding one table of the page's rows, and the writer
copies it: SQLite work with the GIL released, and no Python binding of every value (usage's
133k rows are ~1.2M values). On the 100k scale cache, usage's pages cost the writer 0.22-0.24 s
this way against 0.40-0.42 s bound from rows (plus their unmarshalling), and the listing
process 0.33 s to build them against 0.06 s to marshal them.

The bytes come from this program's own listing process over a private pipe (as marshal's do,
``ism_tui.listing.protocol``). Kept free of SQLAlchemy and the ORM schema: the listing process
imports this module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from functools import cache
from itertools import chain
from typing import Any

from storage.rows import COLUMNS

# ``sqlite3.Connection.serialize``/``deserialize`` need an SQLite built with them (the default
# since 3.36); without them pages travel as rows.
SUPPORTED = hasattr(sqlite3.Connection, "deserialize")
SCHEMA = "ism_page"  # the writer's attached in-memory database a page is loaded into
TABLE = "rows"

# Rows per INSERT statement: a power of two, bounded by SQLite's host-parameter limit (32766
# since 3.32). A page is cut into chunks of the largest such size, and the remainder into
# smaller powers of two, so each table prepares at most 7 statement shapes. Preparing a
# multi-row VALUES grows faster than its rows (workspaces, SQLite 3.40: 256 rows 63 ms,
# 128 rows 16 ms, 64 rows 4.4 ms) while running one costs the same per row (~3 us): 64 spares
# each process's first sync ~80 ms per table, which an incremental sync felt.
_MAX_PARAMS = 32_000
_MAX_ROWS = 64


def chunks(n: int, width: int) -> Iterator[tuple[int, int]]:
    """(start, size) pieces of ``n`` rows, sizes powers of two <= the parameter limit."""
    size = _MAX_ROWS
    while size * width > _MAX_PARAMS and size > 1:
        size //= 2
    start = 0
    while start < n:
        while size > n - start:
            size //= 2
        yield start, size
        start += size


class PageTable:
    """A page's rows as a serialized SQLite database (see ``build``)."""

    __slots__ = ("data", "count")

    def __init__(self, data: bytes, count: int) -> None:
        self.data = data
        self.count = count

    def __len__(self) -> int:
        return self.count


@cache
def _values_sql(resource: str, n_rows: int) -> str:
    row = "(" + ", ".join("?" * len(COLUMNS[resource])) + ")"
    return f"INSERT INTO {TABLE} VALUES " + ", ".join([row] * n_rows)


def build(resource: str, rows: Sequence[tuple[Any, ...]]) -> bytes:
    """``rows`` (``storage.rows`` tuples) as a serialized database with one table, ``rows``,
    whose columns are ``COLUMNS[resource]``."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        columns = ", ".join(f'"{c}"' for c in COLUMNS[resource])
        db.execute(f"CREATE TABLE {TABLE} ({columns})")
        db.execute("BEGIN")
        for start, size in chunks(len(rows), len(COLUMNS[resource])):
            db.execute(_values_sql(resource, size),
                       list(chain.from_iterable(rows[start:start + size])))
        db.execute("COMMIT")
        return db.serialize()
    finally:
        db.close()


def load(raw: sqlite3.Connection, table: PageTable) -> str:
    """Load ``table`` into ``raw``'s attached page database (attached on first use, which must
    come before the transaction's first statement); returns the table's qualified name."""
    if not any(name == SCHEMA for _, name, _ in raw.execute("PRAGMA database_list")):
        raw.execute(f"ATTACH ':memory:' AS {SCHEMA}")
    raw.deserialize(table.data, name=SCHEMA)
    return f"{SCHEMA}.{TABLE}"


def release(raw: sqlite3.Connection) -> None:
    """Detach the page database (its last page's memory goes with it), if attached."""
    if not raw.in_transaction and any(
            name == SCHEMA for _, name, _ in raw.execute("PRAGMA database_list")):
        raw.execute(f"DETACH {SCHEMA}")

"""Page tables (a page's rows shipped as a SQLite database) write exactly what the same rows
write when bound one by one: on a first load, a full re-listing and an incremental page,
values and their SQL types alike."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from ism_tui.listing import protocol, worker
from storage.bulk_indexes import defer_indexes, restore_indexes
from storage.db import make_engine
from storage.page_tables import SCHEMA, PageTable, build, release
from storage.rows import COLUMNS
from storage.sync_state import table_name
from storage.upsert import upsert_rows

RESOURCES = ["workspaces", "users", "invites", "usage", "usage_periods", "audit", "customers",
             "targets", "templates"]
NEW = "2026-11-25T00:00:00.000000Z"


def _made(engine: Engine, resource: str) -> list[tuple[Any, ...]]:
    """The cache's rows of ``resource`` as row makers make them (``COLUMNS`` order)."""
    columns = ", ".join(f'"{c}"' for c in COLUMNS[resource])
    with engine.connect() as conn:
        return [tuple(r) for r in conn.exec_driver_sql(
            f'SELECT {columns} FROM "{table_name(resource)}" ORDER BY id')]


def _stored(engine: Engine, resource: str) -> list[tuple[Any, ...]]:
    """Every column with its SQL type, so an integer stored as text (say) would show."""
    with engine.connect() as conn:
        cols = [r[1] for r in conn.exec_driver_sql(f'PRAGMA table_info("{table_name(resource)}")')]
        picks = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        return [tuple(r) for r in conn.exec_driver_sql(
            f'SELECT {picks} FROM "{table_name(resource)}" ORDER BY id')]


def _odd(resource: str, row: tuple[Any, ...]) -> tuple[Any, ...]:
    """``row`` with its text columns made awkward (wide, markup, quotes) and a new id."""
    stamps = ("updated_at", "day", "time", "since")
    odd = ["[b]界[/b] 'x'\" " * 40 if type(v) is str and not c.endswith(stamps) else v
           for c, v in zip(COLUMNS[resource], row, strict=True)]
    odd[0] = "zz-odd"
    return tuple(odd)


def _write(engine: Engine, resource: str, rows: list[tuple[Any, ...]], as_table: bool,
           **kwargs: Any) -> list[str]:
    page = PageTable(build(resource, rows), len(rows)) if as_table else rows
    with engine.begin() as conn:
        changed = upsert_rows(conn, resource, page, **kwargs)
        raw = conn.connection.driver_connection
    assert raw is not None
    release(raw)
    return changed


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_page_table_writes_what_its_rows_write(demo_engine: Engine, tmp_path: Path,
                                                 resource: str) -> None:
    rows = _made(demo_engine, resource)
    assert rows
    rows.append(_odd(resource, rows[0]))
    engines = {form: make_engine(tmp_path / f"{form}.sqlite3") for form in ("rows", "table")}
    for form, engine in engines.items():
        as_table = form == "table"
        # a first load: the indexes deferred, so the rows go straight in
        with engine.begin() as conn:
            defer_indexes(conn, table_name(resource))
        _write(engine, resource, rows[: len(rows) // 2], as_table, sync_gen="g1")
        _write(engine, resource, rows[len(rows) // 2:], as_table, sync_gen="g1")
        with engine.begin() as conn:
            restore_indexes(conn, table_name(resource))
    assert _stored(engines["table"], resource) == _stored(engines["rows"], resource)

    # a full re-listing over the indexed table (staged), with one row edited
    at = COLUMNS[resource].index("updated_at")
    edited = [*rows[:-1], rows[-1][:at] + (NEW,) + rows[-1][at + 1:]]
    for form, engine in engines.items():
        assert _write(engine, resource, edited, form == "table", sync_gen="g2") == []
    assert _stored(engines["table"], resource) == _stored(engines["rows"], resource)

    # an incremental page: only what moved is written and reported
    bumped = [r[:at] + ("2026-11-26T00:00:00.000000Z",) + r[at + 1:] for r in edited[:3]]
    changed = {form: _write(engine, resource, [*bumped, *edited[3:6]], form == "table",
                            only_changed=True) for form, engine in engines.items()}
    assert sorted(changed["table"]) == sorted(changed["rows"]) == sorted(r[0] for r in bumped)
    assert _stored(engines["table"], resource) == _stored(engines["rows"], resource)
    for engine in engines.values():
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
            names = [r[1] for r in conn.exec_driver_sql("PRAGMA database_list")]
        assert SCHEMA not in names  # released: the last page's memory went with it
        engine.dispose()


def test_a_table_frame_carries_its_database_as_is() -> None:
    body = build("usage", [("u-1", "2026-11-24", "c-1", "ws-1", "usr-1", 60, 0.5, 0.01,
                            NEW)])
    meta = (protocol.TABLE, 1, [], None, NEW, None)
    data = protocol.frame("usage", meta, body=body)
    assert protocol.read_frame(_reader(data)) == ("usage", meta, body)


def _reader(data: bytes) -> Any:
    at = 0

    def read(n: int) -> bytes:
        nonlocal at
        chunk = data[at:at + n]
        at += len(chunk)
        return chunk
    return read


def test_a_listing_runs_ahead_of_its_writer_by_bytes() -> None:
    async def main() -> None:
        ahead = worker._Ahead(100)
        await asyncio.wait_for(ahead.room(), 1)
        ahead.sent(60)
        await asyncio.wait_for(ahead.room(), 1)  # 60 bytes waiting: room for another page
        ahead.sent(60)
        waiting = asyncio.ensure_future(ahead.room())
        await asyncio.sleep(0.01)
        assert not waiting.done()  # 120 bytes waiting: the listing waits
        ahead.taken()
        await asyncio.wait_for(waiting, 1)  # the first page was taken: 60 left
    asyncio.run(main())

"""Incremental upserts: what changed is written and reported, and every index still agrees."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from storage.upsert import upsert_rows

NEW = "2026-11-25T00:00:00.000000Z"


def _workspaces(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.begin() as conn:
        return {r["id"]: dict(r) for r in conn.execute(text(
            "SELECT * FROM workspaces ORDER BY id")).mappings()}


def _table(engine: Engine, resource: str) -> list[dict[str, Any]]:
    from storage.upsert import _columns

    name, _, _ = _columns(resource)
    with engine.begin() as conn:
        return [dict(r) for r in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY id'))
                .mappings()]


def _by_index(engine: Engine, index: str, where: str, **params: Any) -> list[str]:
    """Ids found through one named index (so a stale index entry would show)."""
    with engine.begin() as conn:
        return [r[0] for r in conn.execute(text(
            f"SELECT id FROM workspaces INDEXED BY {index} WHERE {where} ORDER BY id"), params)]


def test_incremental_upsert_writes_and_reports_edits_moves_and_new_rows(demo_engine) -> None:
    before = _workspaces(demo_engine)
    ids = sorted(before)
    relisted, edited, moved = (before[i] for i in ids[:3])
    old_status = moved["status"]
    new_status = "stopped" if old_status != "stopped" else "running"
    page = [
        # the cursor overlap lists an object again: same updated_at, left alone
        {**relisted, "build_error": "must not be written"},
        # a non-indexed edit
        {**edited, "build_error": "volume attach timed out", "updated_at": NEW},
        # an edit that moves the row in two indexes
        {**moved, "status": new_status, "owner_email": "new.owner@example.com",
         "updated_at": NEW},
        # a new workspace
        {**edited, "id": "ws-new", "name": "fresh", "updated_at": NEW},
    ]
    with demo_engine.begin() as conn:
        changed = upsert_rows(conn, "workspaces", page, ["gone"], only_changed=True)
    assert sorted(changed) == sorted([edited["id"], moved["id"], "ws-new", "gone"])

    after = _workspaces(demo_engine)
    assert after[relisted["id"]]["build_error"] == relisted["build_error"]
    assert after[edited["id"]]["build_error"] == "volume attach timed out"
    assert after[moved["id"]]["status"] == new_status
    assert after["ws-new"]["name"] == "fresh"
    assert len(after) == len(before) + 1
    # indexes see every new value, and no old one
    assert set(_by_index(demo_engine, "ix_workspaces_updated", "updated_at = :t", t=NEW)) == {
        edited["id"], moved["id"], "ws-new"}
    assert moved["id"] in _by_index(demo_engine, "ix_workspaces_status", "status = :s",
                                    s=new_status)
    assert moved["id"] not in _by_index(demo_engine, "ix_workspaces_status", "status = :s",
                                        s=old_status)
    assert _by_index(demo_engine, "ix_workspaces_owner_email", "owner_email = :e",
                     e="new.owner@example.com") == [moved["id"]]
    assert "ws-new" in _by_index(demo_engine, "ix_workspaces_name_search", "name = 'fresh'")
    with demo_engine.begin() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        # nothing stays behind in the staging table
        assert conn.execute(text('SELECT COUNT(*) FROM temp."_sync_workspaces"')).scalar_one() == 0


def test_a_failed_incremental_page_writes_nothing_and_stages_nothing(demo_engine) -> None:
    before = _workspaces(demo_engine)
    first = before[min(before)]
    page = [{**first, "build_error": "half written", "updated_at": NEW},
            {**first, "id": "ws-bad", "name": None, "updated_at": NEW}]  # NOT NULL broken
    with pytest.raises(Exception, match="NOT NULL"), demo_engine.begin() as conn:
        upsert_rows(conn, "workspaces", page, only_changed=True)
    assert _workspaces(demo_engine) == before
    with demo_engine.begin() as conn:
        assert conn.execute(text('SELECT COUNT(*) FROM temp."_sync_workspaces"')).scalar_one() == 0


@pytest.mark.parametrize("resource", ["users", "invites", "usage", "customers"])
def test_incremental_upsert_of_every_row_changed_matches_a_full_write(demo_engine,
                                                                      resource: str) -> None:
    """Whatever a table's indexes, the staged path ends where a plain upsert would."""
    rows = _table(demo_engine, resource)
    assert rows
    bumped = [{**r, "updated_at": NEW} for r in rows]
    with demo_engine.begin() as conn:
        changed = upsert_rows(conn, resource, bumped, only_changed=True)
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    stored = _table(demo_engine, resource)
    assert sorted(changed) == sorted(r["id"] for r in rows)
    assert stored == [{**r, "sync_gen": None} if "sync_gen" in r else r for r in bumped]


def test_a_full_relisting_stamps_every_row_and_moves_only_what_moved(demo_engine) -> None:
    """A full sync over a cache that has its indexes: every listed row takes the new
    generation, edits land (indexed or not), new rows appear, unlisted rows are pruned."""
    from storage.upsert import prune_generation

    before = _workspaces(demo_engine)
    ids = sorted(before)
    kept, edited, moved, dropped = (before[i] for i in ids[:4])
    old_status = moved["status"]
    new_status = "stopped" if old_status != "stopped" else "running"
    listing = [{**before[i], "sync_gen": None} for i in ids[4:]] + [
        kept,
        {**edited, "build_error": "quota exceeded"},  # same updated_at: a full pass writes it
        {**moved, "status": new_status, "updated_at": NEW},
        {**edited, "id": "ws-new", "name": "fresh", "updated_at": NEW},
    ]
    with demo_engine.begin() as conn:
        assert upsert_rows(conn, "workspaces", listing, sync_gen="gen2") == []
        pruned = prune_generation(conn, "workspaces", "gen2")
    assert pruned == 1  # the one not listed

    after = _workspaces(demo_engine)
    assert dropped["id"] not in after
    assert {r["sync_gen"] for r in after.values()} == {"gen2"}
    assert after[kept["id"]] == {**kept, "sync_gen": "gen2"}
    assert after[edited["id"]]["build_error"] == "quota exceeded"
    assert after[moved["id"]]["status"] == new_status
    assert after["ws-new"]["name"] == "fresh"
    assert moved["id"] in _by_index(demo_engine, "ix_workspaces_status", "status = :s",
                                    s=new_status)
    assert moved["id"] not in _by_index(demo_engine, "ix_workspaces_status", "status = :s",
                                        s=old_status)
    assert dropped["id"] not in _by_index(demo_engine, "ix_workspaces_name_search",
                                          "name = :n", n=dropped["name"])
    assert set(_by_index(demo_engine, "ix_workspaces_updated", "updated_at = :t", t=NEW)) == {
        moved["id"], "ws-new"}
    with demo_engine.begin() as conn:
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
        assert conn.execute(text('SELECT COUNT(*) FROM temp."_sync_workspaces"')).scalar_one() == 0


@pytest.mark.parametrize("resource", ["users", "invites", "usage", "customers", "targets"])
def test_a_full_relisting_of_every_row_changed_matches_a_plain_write(demo_engine,
                                                                     resource: str) -> None:
    rows = _table(demo_engine, resource)
    # every other row changes every column but its id
    changed = [{**r, **{k: rows[-1 - i][k] for k in r if k != "id"}} if i % 2 else r
               for i, r in enumerate(rows)]
    with demo_engine.begin() as conn:
        upsert_rows(conn, resource, changed, sync_gen="g2")
        assert conn.execute(text("PRAGMA integrity_check")).scalar_one() == "ok"
    stored = _table(demo_engine, resource)
    assert stored == [{**r, "sync_gen": "g2"} for r in changed]

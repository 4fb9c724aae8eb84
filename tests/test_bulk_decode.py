"""The fast page decoder (``api.bulk``) against the pydantic models it is derived from: same
objects, same cache rows, same refusals; and the upsert's chunking and change detection."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import text

from ism_tui.api import bulk
from ism_tui.api import models as m
from ism_tui.text import clean
from storage.rows import ROW_MAKERS, as_dict
from storage.upsert import chunks, upsert_rows

TS = "2026-11-24T09:00:00Z"


@pytest.mark.parametrize("resource", sorted(m.LIST_RESOURCES))
def test_every_demo_object_makes_the_same_row_through_both_decoders(demo_world_session,
                                                                     resource: str) -> None:
    objects = list(demo_world_session.collection(resource).values())
    assert objects, resource
    page = bulk.page_decoder(resource)(orjson.dumps({"items": objects, "next_after_id": None}))
    models = [m.LIST_RESOURCES[resource].model_validate(o) for o in objects]
    make = ROW_MAKERS[resource]
    fast = [make(o) for o in page.items]
    slow = [make(o) for o in models]
    assert fast == slow


def test_timestamps_become_one_sortable_text_whatever_the_offset() -> None:
    body = {"items": [
        {"id": "a", "updated_at": "2026-11-24T10:00:00+01:00", "time": "2026-11-24T09:00:00.5Z",
         "action": "x"},
        {"id": "b", "updated_at": "2026-11-24T09:00:00.000001Z", "time": TS, "action": "x"},
    ]}
    page = bulk.page_decoder("audit")(orjson.dumps(body))
    rows = [as_dict("audit", ROW_MAKERS["audit"](o)) for o in page.items]
    assert [r["updated_at"] for r in rows] == ["2026-11-24T09:00:00.000000Z",
                                               "2026-11-24T09:00:00.000001Z"]
    assert rows[0]["time"] == "2026-11-24T09:00:00.500000Z"


@pytest.mark.parametrize(("sent", "cached"), [
    ("2026-11-24T09:00:00Z", "2026-11-24T09:00:00.000000Z"),
    ("2026-11-24T09:00:00.123456Z", "2026-11-24T09:00:00.123456Z"),
    ("2026-11-24t09:00:00z", "2026-11-24T09:00:00.000000Z"),
    ("2026-11-24 09:00:00Z", "2026-11-24T09:00:00.000000Z"),
    ("2026-11-24T09:00:00.123456789Z", "2026-11-24T09:00:00.123456Z"),  # cut, not rounded
    ("2026-11-24T23:59:59.9999999Z", "2026-11-24T23:59:59.999999Z"),  # not the next day
    ("2026-11-24T09:00:00.5-01:00", "2026-11-24T10:00:00.500000Z"),
    ("2026-11-24T09:00:00+05:30", "2026-11-24T03:30:00.000000Z"),
    ("2026-11-24T09:00:00", "2026-11-24T09:00:00.000000Z"),  # naive: taken as UTC
])
def test_timestamp_text_is_cached_as_the_utc_instant_it_spells(sent: str, cached: str) -> None:
    """The decoder keeps timestamps as the server's text; the cache gets one sortable text per
    instant (UTC, microseconds, Z), at the top level, in a build and in a blocker's JSON."""
    body = {"items": [{"id": "w", "updated_at": sent, "created_at": sent,
                       "latest_build": {"id": "b", "workspace_id": "w", "build_number": 1,
                                        "transition": "start", "job_status": "running",
                                        "created_at": sent},
                       "create_blockers": [{"code": "billing_approval_missing", "since": sent}]}]}
    page = bulk.page_decoder("workspaces")(orjson.dumps(body))
    row = as_dict("workspaces", ROW_MAKERS["workspaces"](page.items[0]))
    assert row["updated_at"] == row["created_at"] == row["build_created_at"] == cached
    assert orjson.loads(row["create_blockers"])[0]["since"] == cached
    # The same text from a model (the actions' results)
    model = m.Workspace.model_validate(body["items"][0])
    assert as_dict("workspaces", ROW_MAKERS["workspaces"](model))["updated_at"] == cached


@pytest.mark.parametrize(("item", "where"), [
    ({"created_at": "2026-13-24T09:00:00Z"}, "items.1.created_at"),
    ({"last_used_at": "2026-02-30T09:00:00Z"}, "items.1.last_used_at"),
    ({"latest_build": {"id": "b", "workspace_id": "w", "build_number": 1, "transition": "start",
                       "job_status": "running", "created_at": TS,
                       "started_at": "2026-11-24T25:00:00Z"}}, "items.1.latest_build.started_at"),
    ({"create_blockers": [{"code": "billing_approval_missing"},
                          {"code": "sso_incomplete", "since": "2026-11-24T09:00:61Z"}]},
     "items.1.create_blockers.1.since"),
    ({"updated_at": "2026-11-24T09:00Z"}, "items.1.updated_at"),
])
def test_a_timestamp_that_is_not_a_real_instant_is_a_contract_violation(item: dict[str, object],
                                                                         where: str) -> None:
    """Shaped like a timestamp is not enough: every one on the page must parse, wherever it
    is nested, and the error names it."""
    good = {"id": "w0", "updated_at": TS}
    body = {"items": [good, {"id": "w1", "updated_at": TS, **item}]}
    with pytest.raises(bulk.ValidationError) as err:
        bulk.page_decoder("workspaces")(orjson.dumps(body))
    assert bulk.error_location(err.value)[0] == where


def test_a_timestamp_shape_the_page_check_cannot_see_is_refused_up_front() -> None:
    """A model holding timestamps where the page check does not look (here a list of them)
    fails when its decoder is made, rather than letting their text through unchecked."""
    import datetime as dt

    from pydantic import BaseModel

    class Odd(BaseModel):
        seen_at: list[dt.datetime] = []

    class Fine(BaseModel):
        names: list[str] = []
        build: m.Build | None = None

    with pytest.raises(TypeError, match=r"Odd\.seen_at"):
        bulk._stamps_of(Odd)
    assert bulk._stamps_of(Fine).one[0][0] == "build"


def test_dates_are_checked_too_beside_tombstones() -> None:
    tomb = {"id": "u-0", "updated_at": TS, "deleted": True}
    live = {"id": "u-1", "updated_at": TS, "day": "2026-11-01", "customer_id": "c",
            "workspace_id": "w", "user_id": "u"}
    page = bulk.page_decoder("usage")(orjson.dumps({"items": [tomb, live]}))
    assert ROW_MAKERS["usage"](page.items[1])[1] == "2026-11-01"
    with pytest.raises(bulk.ValidationError) as err:
        bulk.page_decoder("usage")(orjson.dumps({"items": [tomb, {**live, "day": "2026-02-30"}]}))
    assert bulk.error_location(err.value)[0] == "items.1.day"


def test_tombstones_decode_even_where_live_objects_need_more_fields() -> None:
    tomb = {"id": "u-0", "updated_at": TS, "deleted": True}
    live = {"id": "u-1", "updated_at": TS, "day": "2026-11-01", "customer_id": "c",
            "workspace_id": "w", "user_id": "u"}
    page = bulk.page_decoder("usage")(orjson.dumps({"items": [tomb, live]}))
    assert [(o.id, o.deleted) for o in page.items] == [("u-0", True), ("u-1", False)]
    broken = {k: v for k, v in live.items() if k != "day"}
    with pytest.raises(bulk.ValidationError) as err:
        bulk.page_decoder("usage")(orjson.dumps({"items": [tomb, broken]}))
    assert bulk.error_location(err.value) == ("items.1", "Object missing required field `day`")


@pytest.mark.parametrize(("body", "where"), [
    ({"items": [{"id": "w", "updated_at": TS, "apps": "none"}]}, "items.0.apps"),
    ({"items": [{"id": "w", "updated_at": "yesterday"}]}, "items.0.updated_at"),
    ({"items": None}, "items"),
    ([], "(body)"),
])
def test_contract_violations_name_the_field(body: object, where: str) -> None:
    with pytest.raises(bulk.ValidationError) as err:
        bulk.page_decoder("workspaces")(orjson.dumps(body))
    assert bulk.error_location(err.value)[0] == where


@pytest.mark.parametrize("n", [0, 1, 255, 256, 257, 1000, 5000])
def test_chunks_cover_every_row_once_with_few_statement_shapes(n: int) -> None:
    pieces = list(chunks(n, 28))
    assert sum(size for _, size in pieces) == n
    assert [start for start, _ in pieces] == [sum(s for _, s in pieces[:i])
                                              for i in range(len(pieces))]
    assert all(size & (size - 1) == 0 and size * 28 <= 32_000 for _, size in pieces)


def test_incremental_upsert_reports_only_real_changes(demo_engine) -> None:
    with demo_engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(text(
            "SELECT * FROM targets ORDER BY id")).mappings()]
    assert len(rows) >= 2
    changed_row = {**rows[0], "state": "degraded", "updated_at": "2026-11-25T00:00:00.000000Z"}
    with demo_engine.begin() as conn:
        changed = upsert_rows(conn, "targets", [changed_row, *rows[1:]], ["gone-id"],
                              only_changed=True)
    assert changed == [rows[0]["id"], "gone-id"]
    with demo_engine.begin() as conn:
        state = conn.execute(text("SELECT state FROM targets WHERE id = :i"),
                             {"i": rows[0]["id"]}).scalar_one()
        assert upsert_rows(conn, "targets", rows[1:]) == []  # full mode reports nothing
    assert state == "degraded"


@pytest.mark.parametrize("resource", sorted(m.LIST_RESOURCES))
def test_made_rows_put_each_field_in_its_own_column(demo_world_session, resource: str) -> None:
    """Rows are positional tuples: a swapped pair (created_at/updated_at) must not slip by."""
    from storage.rows import COLUMNS, ts
    from storage.schema import RESOURCE_TABLES

    table = RESOURCE_TABLES[resource].__table__  # type: ignore[attr-defined]
    assert set(COLUMNS[resource]) == {c.name for c in table.columns} - {"sync_gen"}
    objects = list(demo_world_session.collection(resource).values())
    for model in [m.LIST_RESOURCES[resource].model_validate(o) for o in objects]:
        wire = model.model_dump(mode="json")
        row = as_dict(resource, ROW_MAKERS[resource](model))
        for column, value in row.items():
            sent = wire.get(column)
            if column not in wire or isinstance(sent, list | dict):
                continue
            if isinstance(sent, str) and (column.endswith(("_at", "_since", "_through"))
                                          or column == "time"):
                assert value == ts(sent), (resource, column)
            elif isinstance(sent, str):
                assert value == clean(sent), (resource, column)
            else:
                assert value == sent, (resource, column)
        build = wire.get("latest_build")
        if build:
            assert (row["build_id"], row["build_created_at"], row["build_completed_at"]) == (
                build["id"], ts(build["created_at"]), ts(build["completed_at"]))
        provisioning = wire.get("provisioning")
        if provisioning:
            assert row["provisioning_state"] == provisioning["state"]
            assert row["provisioning_updated_at"] == ts(provisioning["updated_at"])
        billing = wire.get("billing")
        if billing:
            assert (row["prepaid_seconds_left"], row["ai_credit_left"]) == (
                billing["prepaid_seconds_left"], billing["ai_credit_left"])


def test_dict_rows_still_upsert_with_defaults(demo_engine) -> None:
    with demo_engine.begin() as conn:
        upsert_rows(conn, "targets", [{"id": "tgt-new", "name": "New", "updated_at": TS}])
        got = conn.execute(text("SELECT name, state, updated_at FROM targets WHERE id = 'tgt-new'"))
        assert got.one() == ("New", "available", TS)


def test_none_still_binds_as_sql_null(demo_engine) -> None:
    """The upsert module registers an adapter for None (a faster bind): it must still be NULL,
    for the upsert and for every other statement."""
    import storage.upsert  # noqa: F401  (registers it)

    with demo_engine.begin() as conn:
        upsert_rows(conn, "targets", [{"id": "tgt-null", "name": "N", "updated_at": TS,
                                       "state_reason": None}])
        got = conn.execute(text("SELECT typeof(state_reason), typeof(:v) FROM targets "
                                "WHERE id = 'tgt-null'"), {"v": None}).one()
    assert tuple(got) == ("null", "null")

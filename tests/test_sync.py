"""Sync against the simulator on loopback, with faults: each run ends in success or a clear error,
and the cache stays intact and readable."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from conftest import FROZEN_NOW
from sqlalchemy import text

from ism_tui.api.client import RetryPolicy
from ism_tui.services import Services, build_services
from ism_tui.sim.state import BUILD_SECONDS
from ism_tui.sim.testing import SimHandle, running_simulator
from ism_tui.sync import SyncProgress, run_sync, sync_object
from storage.sync_state import read_state

FAST = RetryPolicy(attempts=8, timeout=20, wait_initial=0.001, wait_max=0.02,
                   max_retry_after=0.05)
TABLES = {"customers": "customers", "users": "users", "invites": "invites",
          "workspaces": "workspaces", "usage_periods": "usage_periods"}


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


def services_for(sim: SimHandle, tmp_path: Path, token: str = "demo-operator",
                 page_size: int = 1000) -> Services:
    services = build_services(url=sim.base_url, token=token, cache_dir=tmp_path)
    services.retry = FAST
    services.settings.settings.page_size = page_size
    return services


def on_page(resource: str, n: int, act: Callable[[], object]) -> Callable[[SyncProgress], None]:
    """A progress callback that runs ``act`` once ``resource``'s ``n``-th page is committed."""
    pages = 0

    def progress(p: SyncProgress) -> None:
        nonlocal pages
        if p.resource == resource and p.phase == "page":
            pages += 1
            if pages == n:
                act()
    return progress


def count(services: Services, table: str) -> int:
    with services.engine.connect() as conn:
        return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def intact(services: Services) -> bool:
    with services.engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"


def expected(sim: SimHandle, resource: str) -> int:
    return len(sim.world.collection(resource))


def test_full_then_incremental_sync_mirrors_the_console(sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path)
    report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    for resource, table in TABLES.items():
        assert count(services, table) == expected(sim, resource), resource
    assert services.me() is not None and services.me().role == "platform_operator"

    sim.patch("customers", "cus-0003", {"name": "Bluefin Labs Renamed"})
    stopped = next(w for w in sim.world.workspaces.values() if w["status"] == "stopped")
    httpx.post(f"{sim.base_url}/workspaces/{stopped['id']}/builds",
               json={"transition": "delete"},
               headers={"Authorization": "Bearer demo-operator", "Idempotency-Key": "t-del"})
    sim.advance(BUILD_SECONDS * 3)
    report = asyncio.run(run_sync(services))
    assert report.ok and {r.mode for r in report.resources} == {"incremental"}
    by = {r.resource: r for r in report.resources}
    assert by["workspaces"].deleted >= 1 and by["workspaces"].rows < 20
    with services.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM customers WHERE id='cus-0003'")).scalar_one()
        gone = conn.execute(text("SELECT count(*) FROM workspaces WHERE id=:i"),
                            {"i": stopped["id"]}).scalar_one()
    assert name == "Bluefin Labs Renamed" and gone == 0


def test_a_sync_sums_usage_totals_and_leaves_rankings_to_the_first_ranking(
        sim: SimHandle, tmp_path: Path) -> None:
    """The sync writes what blockers need (the daily totals); the ranking roll-ups (~0.6 s at
    100k usage rows) wait for the console's warm-up after a sync, or any reader that ranks."""
    from ism_tui.analytics.service import AnalyticsService

    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    with services.engine.connect() as conn:
        direct = conn.exec_driver_sql(
            "SELECT customer_id, day, SUM(workspace_seconds), COUNT(*) FROM usage "
            "GROUP BY customer_id, day ORDER BY 1, 2").all()
        daily = conn.exec_driver_sql(
            "SELECT customer_id, day, workspace_seconds, rows FROM usage_daily "
            "ORDER BY 1, 2").all()
    assert daily == direct and len(daily) > 100
    assert count(services, "usage_pairs") == 0
    AnalyticsService(services.engine).prepare()  # what the console does after a sync
    with services.engine.connect() as conn:
        pairs = conn.exec_driver_sql(
            "SELECT COUNT(*) FROM (SELECT DISTINCT workspace_id, user_id, customer_id "
            "FROM usage)").scalar_one()
    assert count(services, "usage_pairs") == pairs > 0
    assert count(services, "usage_rank_cache") > 0


def test_a_first_sync_lands_workspaces_before_the_big_resources_start(
        sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path, page_size=50)
    events: list[SyncProgress] = []
    assert asyncio.run(run_sync(services, progress=events.append)).ok
    order = [(e.resource, e.phase) for e in events]
    ws_done = order.index(("workspaces", "done"))
    for later in ("usage", "users", "invites", "usage_periods", "audit"):
        assert order.index((later, "start")) > ws_done, later
    for small in ("customers", "targets", "templates"):  # reference tables come along
        assert order.index((small, "start")) < ws_done, small
    events.clear()  # an incremental sync moves few rows: everything at once
    assert asyncio.run(run_sync(services, progress=events.append)).ok
    order = [(e.resource, e.phase) for e in events]
    assert order.index(("usage", "start")) < order.index(("workspaces", "done"))


def test_a_first_sync_prepares_the_subject_blockers_while_usage_is_still_syncing(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ism_tui.triage.store as store

    services = services_for(sim, tmp_path, page_size=50)
    events: list[tuple[str, str]] = []
    real = store.prepare_blockers

    def prepare(engine: object) -> store.Prepared:
        events.append(("blockers", "prepared"))
        return real(engine)  # type: ignore[arg-type]

    monkeypatch.setattr(store, "prepare_blockers", prepare)
    report = asyncio.run(run_sync(services, progress=lambda p: events.append(
        (p.resource, p.phase))))
    assert report.ok, report.errors
    prepared = events.index(("blockers", "prepared"))
    for read in ("customers", "users", "invites", "workspaces", "audit"):
        assert events.index((read, "done")) < prepared, read
    assert prepared < events.index(("usage", "done"))  # usage: ~75 pages of 50
    synced = blocker_rows(services)
    assert any(b.startswith("analytics_empty:") for b in synced)  # the part done at the end
    store.recompute_blockers(services.engine)
    assert blocker_rows(services) == synced  # the same as a recompute from scratch

    events.clear()  # an incremental sync recomputes what changed: nothing is prepared
    assert asyncio.run(run_sync(services, progress=lambda p: events.append(
        (p.resource, p.phase)))).ok
    assert ("blockers", "prepared") not in events


def test_incremental_cursor_follows_the_server_clock_so_quiet_batches_are_not_relisted(
        sim: SimHandle, tmp_path: Path) -> None:
    from ism_tui.api.client import ConsoleClient

    async def first_page_served_at() -> object:
        async with ConsoleClient(sim.base_url, "demo-operator") as client:
            return (await client.page("targets", limit=1)).served_at

    assert asyncio.run(first_page_served_at()) == sim.state.clock.now().replace(microsecond=0)
    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    sim.advance(600)  # ten quiet minutes: every customer was last updated in one batch
    first = asyncio.run(run_sync(services))
    sim.advance(600)
    sim.patch("customers", "cus-0003", {"name": "Bluefin Labs Renamed"})
    second = asyncio.run(run_sync(services))
    assert first.ok and second.ok
    assert {r.resource: r.rows for r in first.resources}["customers"] == 0
    assert {r.resource: r.rows for r in second.resources}["customers"] == 1
    with services.engine.connect() as conn:
        name = conn.execute(text("SELECT name FROM customers WHERE id='cus-0003'")).scalar_one()
    assert name == "Bluefin Labs Renamed"


def test_faults_5xx_429_drops_truncation_and_extra_fields_still_sync(
        sim: SimHandle, tmp_path: Path) -> None:
    sim.set_faults("error_rate=0.15,rate_limit=0.1,retry_after=1,drop=0.05,truncate=0.05,"
                   "malformed=0.05,extra_fields")
    services = services_for(sim, tmp_path, page_size=200)
    report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    for resource, table in TABLES.items():
        assert count(services, table) == expected(sim, resource), resource
    assert intact(services)


def test_timeout_ends_in_a_clear_error_and_keeps_earlier_rows(
        sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    before = count(services, "workspaces")
    services.settings.settings.read_timeout = 0.2
    services.retry = RetryPolicy(attempts=2, timeout=3, wait_initial=0.001, wait_max=0.01)
    sim.set_faults("latency=1s")
    report = asyncio.run(run_sync(services, full=True))
    assert not report.ok
    assert "did not answer" in " ".join(report.errors)
    assert count(services, "workspaces") == before and intact(services)


def test_token_revoked_mid_sync_is_reported_and_cache_is_intact(
        sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path, page_size=30)
    # The workspaces committed before the token went must still be there after the sync fails.
    revoke = on_page("workspaces", 2, lambda: sim.revoke_token("demo-operator"))
    report = asyncio.run(run_sync(services, progress=revoke))
    assert not report.ok
    assert "token was rejected (401)" in " ".join(report.errors)
    assert "demo-operator" not in " ".join(report.errors)
    assert intact(services) and count(services, "workspaces") >= 60


def test_interrupted_full_sync_resumes_where_it_stopped(sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path, page_size=500)

    async def interrupted() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(run_sync(services, resources=["usage"],
                                            progress=on_page("usage", 3, stop.set)))
        await stop.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    asyncio.run(interrupted())
    state = read_state(services.engine, "usage")
    assert state.resume_after_id is not None and state.full_sync_id is not None
    partial = count(services, "usage")
    assert 0 < partial < expected(sim, "usage")

    report = asyncio.run(run_sync(services, resources=["usage"]))
    usage = report.resources[0]
    assert report.ok and usage.mode == "full"
    assert usage.rows == expected(sim, "usage") - partial  # resumed, not restarted
    assert count(services, "usage") == expected(sim, "usage")
    assert read_state(services.engine, "usage").resume_after_id is None


def test_readers_never_see_database_locked_during_sync(sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path, page_size=100)
    errors: list[BaseException] = []
    done = threading.Event()
    reads = 0

    def reader() -> None:
        nonlocal reads
        while not done.is_set():
            try:
                count(services, "usage")
                reads += 1
            except BaseException as exc:  # noqa: BLE001 - any failure is the finding
                errors.append(exc)
                return
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        assert asyncio.run(run_sync(services)).ok
    finally:
        done.set()
        thread.join()
    assert not errors and reads > 10


def test_member_token_skips_usage_and_audit_as_not_permitted(
        sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path, token="demo-member", page_size=5)
    report = asyncio.run(run_sync(services))
    assert report.ok
    skipped = {r.resource for r in report.resources if r.skipped}
    assert skipped == {"usage", "usage_periods", "audit"}
    customers = {r[0] for r in services.engine.connect().exec_driver_sql(
        "SELECT customer_id FROM workspaces").all()}
    assert customers == {"cus-0006"}
    # not even asked: the Console would audit each 403 as "analytics.view denied", which
    # would move the explained member case's date on every sync
    denied = [a for a in sim.world.audit.values()
              if a["action"] == "analytics.view" and a["result"] == "denied"]
    assert len(denied) == 1 and denied[0]["time"] < "2026-11-24T09:30"


def test_sync_object_refreshes_one_workspace(sim: SimHandle, tmp_path: Path) -> None:
    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    sim.patch("workspaces", "ws-000088", {"name": "imaging-pipeline-v2"})
    assert asyncio.run(sync_object(services, "workspaces", "ws-000088"))
    with services.engine.connect() as conn:
        assert conn.exec_driver_sql(
            "SELECT name FROM workspaces WHERE id='ws-000088'").scalar_one() == \
            "imaging-pipeline-v2"


def test_hostile_names_keep_every_playbook_case_and_stay_literal(
        sim: SimHandle, tmp_path: Path) -> None:
    from ism_tui.triage.playbook import CASES
    from ism_tui.triage.store import list_blockers

    sim.set_faults("hostile,extra_fields")
    services = services_for(sim, tmp_path)
    report = asyncio.run(run_sync(services))
    assert report.ok, report.errors
    blockers = list_blockers(services.engine)
    assert {b.case for b in blockers} == set(CASES)  # decorated names change no diagnosis
    reasons = {b.reason for b in blockers if b.case == "analytics_empty"}
    assert reasons == {"scope", "period", "reconciliation", "not_running", "provider_delay"}
    with services.engine.connect() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM customers")]
    assert all("\x1b" not in n for n in names)
    assert any("[" in n for n in names)  # markup kept as text, rendered literally later


def blocker_rows(services: Services) -> dict[str, str]:
    with services.engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, payload FROM blockers")).all())


def readiness_ids(services: Services) -> set[str]:
    """The readiness blockers, on their own line or folded into a create blocker."""
    from storage.triage_io import folded_ids

    return {b for b in blocker_rows(services) if b.split(":")[1].startswith(("cus-", "usr-"))
            } | folded_ids(services.engine)


def test_incremental_sync_recomputes_only_what_changed_and_agrees_with_a_full_recompute(
        sim: SimHandle, tmp_path: Path) -> None:
    from ism_tui.triage.store import recompute_blockers

    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    before = blocker_rows(services)
    blocked_ws = next(b.split(":")[1] for b in before
                      if b.startswith("billing_approval_missing:ws-"))
    unmapped = next(b.split(":")[1] for b in before if b.startswith("role_not_mapped:"))
    pending = next(i for i in sim.world.collection("invites").values()
                   if i["state"] == "pending")

    sim.advance(60)
    sim.patch("workspaces", blocked_ws, {"create_blockers": []})   # fixed
    sim.patch("users", unmapped, {"role": "customer_admin"})       # fixed
    sim.patch("invites", pending["id"], {"state": "expired"})      # newly blocked
    report = asyncio.run(run_sync(services))
    assert report.ok and {r.mode for r in report.resources} == {"incremental"}
    by = {r.resource: r for r in report.resources}
    # re-listed but unchanged objects (the cursor overlap) are not counted as changed
    assert by["workspaces"].changed == {blocked_ws} and by["users"].changed == {unmapped}
    assert by["invites"].changed == {pending["id"]} and not by["customers"].changed

    after = blocker_rows(services)
    assert f"billing_approval_missing:{blocked_ws}" not in after
    assert f"role_not_mapped:{unmapped}" not in after
    assert f"invite_expired:{pending['id']}" in after
    recompute_blockers(services.engine)
    assert blocker_rows(services) == after  # the scoped recompute equals a full one


def test_without_a_server_clock_the_cursor_is_the_newest_object_listed(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ism_tui.sync as sync_module
    from storage.stamps import ts

    monkeypatch.setattr(sync_module, "_server_time", lambda _when: None)  # no Date header
    sim.patch("workspaces", sorted(sim.world.collection("workspaces"))[3], {})  # an odd one out
    services = services_for(sim, tmp_path, page_size=50)
    assert asyncio.run(run_sync(services)).ok
    for resource in ("workspaces", "users", "usage"):
        newest = max(ts(o["updated_at"]) for o in sim.world.collection(resource).values())
        assert read_state(services.engine, resource).cursor == newest, resource


def test_a_server_clock_running_ahead_never_moves_the_cursor_past_ours() -> None:
    from datetime import UTC, datetime, timedelta

    from ism_tui.sync import _server_time
    from storage.rows import iso

    before = datetime.now(UTC)
    capped = _server_time(before + timedelta(hours=2))
    assert capped is not None and iso(before) <= capped <= str(iso(datetime.now(UTC)))
    assert _server_time(datetime(2026, 11, 24, 9, 30, tzinfo=UTC)) == \
        "2026-11-24T09:30:00.000000Z"
    assert _server_time(None) is None


def _indexes(services: Services, table: str) -> set[str]:
    with services.engine.connect() as conn:
        return {r[0] for r in conn.execute(text(
            "SELECT name FROM sqlite_master WHERE type='index' AND tbl_name=:t "
            "AND sql IS NOT NULL"), {"t": table})}


def test_indexes_dropped_for_a_first_load_all_come_back_even_after_a_failed_rebuild(
        sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.bulk_indexes as bulk_indexes
    from storage.schema import WorkspaceRow

    wanted = {i.name for i in WorkspaceRow.__table__.indexes}  # type: ignore[attr-defined]
    assert len(wanted) >= 5
    services = services_for(sim, tmp_path, page_size=50)
    real = bulk_indexes.restore_indexes

    def disk_full(conn, table: str) -> int:  # type: ignore[no-untyped-def]
        if table != "workspaces":
            return real(conn, table)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(bulk_indexes, "restore_indexes", disk_full)
    report = asyncio.run(run_sync(services, full=True))
    failed = {r.resource: r.error for r in report.resources if r.error}
    assert list(failed) == ["workspaces"] and "No space left" in failed["workspaces"]
    assert _indexes(services, "workspaces") == set()
    assert count(services, "workspaces") == len(sim.world.workspaces)  # rows stay readable
    monkeypatch.setattr(bulk_indexes, "restore_indexes", real)
    assert asyncio.run(run_sync(services)).ok
    assert _indexes(services, "workspaces") == wanted
    with services.engine.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM meta WHERE key LIKE 'deferred_indexes:%'")).scalar_one() == 0


def test_incremental_sync_keeps_create_readiness_in_step(sim: SimHandle, tmp_path: Path) -> None:
    from ism_tui.triage.store import recompute_blockers

    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    before = readiness_ids(services)
    kestrel = next(b.split(":")[1] for b in before
                   if b.startswith("billing_approval_missing:cus-"))
    gpu = next(b.split(":")[2] for b in before if b.startswith("target_unavailable:cus-"))
    customer = sim.world.collection("customers")[kestrel]
    sim.advance(60)
    sim.patch("customers", kestrel, {"billing": {**customer["billing"], "approval": "approved"}})
    sim.patch("targets", gpu, {"state": "available"})  # every customer's readiness moves
    assert asyncio.run(run_sync(services)).ok
    after = blocker_rows(services)
    assert f"billing_approval_missing:{kestrel}" not in readiness_ids(services)
    assert not [b for b in readiness_ids(services) if b.startswith("target_unavailable:cus-")]
    recompute_blockers(services.engine)
    assert blocker_rows(services) == after  # the scoped recompute equals a full one


def test_a_deleted_workspace_takes_its_readiness_blocker_along(
        sim: SimHandle, tmp_path: Path) -> None:
    from ism_tui.triage.store import recompute_blockers

    workspaces = sim.world.collection("workspaces").values()
    java = {w["customer_id"] for w in workspaces if w["template_alias"] == "java-legacy"}
    only = next(w for w in workspaces if w["status"] == "stopped"
                and w["customer_id"] not in java and not w["create_blockers"])
    sim.patch("workspaces", only["id"], {"template_alias": "java-legacy"})  # deprecated
    services = services_for(sim, tmp_path)
    assert asyncio.run(run_sync(services)).ok
    blocker = f"template_alias_unavailable:{only['customer_id']}:java-legacy"
    assert blocker in blocker_rows(services)

    httpx.post(f"{sim.base_url}/workspaces/{only['id']}/builds", json={"transition": "delete"},
               headers={"Authorization": "Bearer demo-operator", "Idempotency-Key": "t-gone"},
               timeout=10).raise_for_status()
    sim.advance(BUILD_SECONDS * 3)
    report = asyncio.run(run_sync(services))
    assert report.ok and {r.resource: r for r in report.resources}["workspaces"].deleted == 1
    after = blocker_rows(services)
    assert blocker not in after
    recompute_blockers(services.engine)
    assert blocker_rows(services) == after  # the scoped recompute equals a full one

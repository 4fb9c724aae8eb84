"""Sync: Console API pages -> validated wire models -> one committed transaction per page.

Full syncs stamp every row with a generation id and prune rows the server no longer lists only
once the resource completed, so an interrupted sync (even ``kill -9``) leaves the last good data
readable and resumes from ``resume_after_id`` next time. Incremental syncs ask for
``updated_since`` = the resource's cursor (the highest ``updated_at`` seen, minus an overlap) and
apply tombstones as deletions. Writes run in a thread with short transactions; readers never wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ism_tui.api.errors import ApiError, AuthError, PermissionDenied
from ism_tui.redact import scrub

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from ism_tui.listing.process import ListingProcess
    from ism_tui.listing.sources import PageSources
    from ism_tui.services import Services
    from ism_tui.triage.store import Prepared
    from storage.checkpoint import Checkpointer
    from storage.page_tables import PageTable
    from storage.rows import Row
    from storage.sync_state import SyncStateRow

log = logging.getLogger("ism_tui.sync")
CURSOR_OVERLAP = timedelta(seconds=60)
# One writer at a time, queued in Python: SQLite's own busy handler sleeps in steps of up to
# 100 ms, which idles the writers of concurrently synced resources.
_WRITE_LOCK = threading.Lock()
# During a sync, one connection does every write (opening one per page cost ~5 ms of connect
# and PRAGMAs, ~1.5 s over the 100k scale scenario).
_WRITERS: dict[int, Connection] = {}
# ... and WAL checkpoints run beside it, not in its commits (storage.checkpoint).
_CHECKPOINTERS: dict[int, Checkpointer] = {}


@contextlib.contextmanager
def _writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction, queued behind any other writer of this process."""
    with _WRITE_LOCK:
        conn = _WRITERS.get(id(engine))
        if conn is None:
            with engine.begin() as fresh:
                yield fresh
            return
        with conn.begin():
            yield conn


@contextlib.contextmanager
def _bulk_gc() -> Iterator[None]:
    """Collect young objects ~30x less often while a sync runs: it allocates millions of
    short-lived, acyclic objects, and the default threshold (700) made the cyclic collector
    ~10% of a 100k full sync (100,000 saved a little more time but added ~60 MB of peak RSS).
    The previous thresholds come back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(20_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _open_writer(engine: Engine) -> None:
    from storage.checkpoint import Checkpointer

    with _WRITE_LOCK:
        if id(engine) not in _WRITERS:
            conn = _WRITERS[id(engine)] = engine.connect()
            path, raw = engine.url.database, conn.connection.driver_connection
            if path and path != ":memory:" and raw is not None:
                checkpointer = _CHECKPOINTERS[id(engine)] = Checkpointer(Path(path))
                checkpointer.start(raw)


def _close_writer(engine: Engine) -> None:
    from storage.page_tables import release

    with _WRITE_LOCK:
        checkpointer = _CHECKPOINTERS.pop(id(engine), None)
        if checkpointer is not None:
            checkpointer.stop()
        conn = _WRITERS.pop(id(engine), None)
        if conn is not None:
            raw = conn.connection.driver_connection
            if raw is not None:
                release(raw)
            conn.close()

NOT_PERMITTED = "not permitted for this role"
# Biggest first, so the long poles start early under the concurrency bound.
SYNC_ORDER = ("workspaces", "usage", "users", "invites", "usage_periods", "audit", "customers",
              "targets", "templates")
# A full pass of workspaces (the table operators open first, and what most blockers are about)
# runs with only the small reference tables beside it; the rest follows. On the 100k scale
# scenario this finished workspaces in 4.2 s instead of 7.3 s, and the whole sync sooner too
# (8.6 s against 9.7 s, means of two runs each): fewer writers queue for the one write lock and
# fewer threads convoy on the GIL. Incremental syncs move few rows and run in one phase.
FIRST_PHASE = frozenset({"workspaces", "customers", "targets", "templates"})
ROLE_OPTIONAL = frozenset({"usage", "usage_periods", "audit"})
# What the blocker rules read but for the analytics ones (``triage.store.prepare_blockers``)
PREPARE_INPUTS = frozenset({"customers", "users", "invites", "workspaces", "audit", "targets",
                            "templates"})


@dataclass
class SyncProgress:
    """What a progress bar or the TUI's status line shows."""

    resource: str
    rows: int = 0
    total: int | None = None
    phase: str = "start"  # start | page | done | skipped | error
    done: bool = False
    error: str | None = None


@dataclass
class ResourceReport:
    resource: str
    mode: str
    rows: int = 0
    deleted: int = 0
    pruned: int = 0
    pages: int = 0
    seconds: float = 0.0
    error: str | None = None
    skipped: str | None = None
    # Incremental: ids whose rows really changed (derived data recomputes for them only);
    # None after a full sync (everything may have changed).
    changed: set[str] | None = field(default=None, repr=False)
    # Listed objects the cache cannot hold, each named with what is wrong (the rest landed)
    rejected: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    started_at: str
    seconds: float = 0.0
    resources: list[ResourceReport] = field(default_factory=list)
    error: str | None = None
    me: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not any(r.error for r in self.resources)

    @property
    def errors(self) -> list[str]:
        out = [self.error] if self.error else []
        return out + [f"{r.resource}: {r.error}" for r in self.resources if r.error]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for resource in data["resources"]:
            changed = resource.pop("changed")
            resource["changed"] = None if changed is None else len(changed)
        data["ok"] = self.ok
        return data


ProgressFn = Callable[[SyncProgress], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def run_sync(services: Services, *, full: bool = False,
                   resources: Sequence[str] | None = None,
                   progress: ProgressFn | None = None) -> SyncReport:
    """Sync ``resources`` (default: all) into the cache; never raises for API errors."""
    report = SyncReport(started_at=_now())
    started = time.perf_counter()
    names = [r for r in SYNC_ORDER if resources is None or r in resources]
    unknown = set(resources or ()) - set(SYNC_ORDER)
    if unknown:
        report.error = f"unknown resources: {', '.join(sorted(unknown))}"
        return report
    emit = progress or (lambda _p: None)
    with _bulk_gc():
        await _run(services, report, names, full, emit)
    report.seconds = round(time.perf_counter() - started, 3)
    return report


async def _run(services: Services, report: SyncReport, names: list[str], full: bool,
               emit: ProgressFn) -> None:
    engine = services.engine
    prepared: asyncio.Future[Prepared | None] | None = None
    try:
        states = await asyncio.to_thread(_read_states, engine, names)
        full_names = [n for n in names if full or _full_pass(states[n])]
        await asyncio.to_thread(_open_writer, engine)
        async with services.client() as client:
            from ism_tui.listing.sources import PageSources

            page_size = services.settings.settings.page_size
            sources = PageSources(client, page_size,
                                  functools.partial(_start_listing_process, services))
            if any(states[n].last_success_at is None or states[n].row_count > page_size
                   for n in full_names):  # never listed in full, or had more than a page
                sources.start_now()
            me = await client.me()
            report.me = me.model_dump(mode="json")
            from storage.load import set_me

            await asyncio.to_thread(set_me, engine, report.me)
            listed = names
            if me.role == "customer_member":  # never asked: the Console audits each 403 as
                names = [n for n in names if n not in ROLE_OPTIONAL]  # "analytics.view denied"
                full_names = [n for n in full_names if n not in ROLE_OPTIONAL]
                for name in listed:
                    if name not in names:
                        await asyncio.to_thread(_record_error, engine, name, NOT_PERMITTED, True)
                        report.resources.append(ResourceReport(name, "full",
                                                               skipped=NOT_PERMITTED))
                        emit(SyncProgress(name, 0, None, "skipped", done=True))
            bound = asyncio.Semaphore(services.settings.settings.concurrency)
            phases = _phases(names, full_names)
            if len(phases) > 1:
                # Once workspaces are listed, the listing process starts on the second phase,
                # ahead of its writes (up to ``listing.process.AHEAD_BYTES`` a resource): that
                # listing overlaps the end of the first phase here (the workspace indexes'
                # rebuild). Its pages come as page tables (``_sync_resource``).
                sources.prefetch_after("workspaces", [
                    (n, _resume_point(states[n])) for n in phases[1] if n in full_names])

            # A first or full sync recomputes every blocker afterwards: the part that reads
            # only the subjects' tables starts once they are synced, beside usage's pass.
            waiting_for = set(PREPARE_INPUTS & set(names)) if len(phases) > 1 else None

            async def one(name: str, tables: bool) -> ResourceReport:
                nonlocal prepared
                async with bound:
                    done = await _sync_resource(services, sources, name, states[name], full,
                                                emit, tables=tables)
                if waiting_for is not None and name in waiting_for:
                    waiting_for.discard(name)
                    if not waiting_for:
                        prepared = _prepare_blockers(engine)
                return done

            try:
                for number, phase in enumerate(phases):
                    report.resources += await asyncio.gather(*(one(n, number > 0)
                                                               for n in phase))
            finally:
                await sources.aclose()
            for done in report.resources:
                done.rejected = client.rejected.get(done.resource, [])
            report.resources.sort(key=lambda r: listed.index(r.resource))
    except ApiError as exc:
        report.error = str(exc)
    except Exception as exc:  # ConfigError, CacheError: their messages are actionable
        report.error = scrub(str(exc) or exc.__class__.__name__)
    finally:
        await asyncio.to_thread(_close_writer, engine)
    from ism_tui.memory import release_freed_memory

    # The pages' rows are gone: their memory goes back before the after-sync work, and that
    # work's afterwards (a console that syncs would otherwise keep both for good).
    release_freed_memory()
    ahead = await prepared if prepared is not None else None
    if any(r.rows or r.deleted or r.pruned for r in report.resources):
        await asyncio.to_thread(after_sync, engine, report.resources, ahead)
        release_freed_memory()


def _start_listing_process(services: Services) -> ListingProcess | None:
    """The listing process for this sync's full passes, if the profile wants one, the client
    talks over the network (a test's in-memory transport cannot cross processes) and a second
    CPU is there to run it (``listing.cpus``)."""
    prof = services.settings.settings
    if not prof.listing_process or services.transport is not None:
        return None
    from ism_tui.listing.cpus import MIN_CPUS, usable_cpus

    cpus = usable_cpus()
    if cpus < MIN_CPUS:
        log.info("listing in this process: %.2g CPUs usable, the listing process needs %.2g",
                 cpus, MIN_CPUS)
        return None
    from ism_tui.listing.process import ListingProcess

    url, token = services.settings.require_connection()
    try:
        return ListingProcess.start(url, token, services.client_options(),
                                    concurrency=prof.concurrency, limit=prof.page_size)
    except OSError as exc:
        log.info("listing in this process: the listing process did not start (%s)", exc)
        return None


def _read_states(engine: Engine, names: list[str]) -> dict[str, SyncStateRow]:
    from storage.sync_state import read_state

    return {name: read_state(engine, name) for name in names}


def _resume_point(state: SyncStateRow) -> str | None:
    return state.resume_after_id if state.full_sync_id else None


def _phases(names: list[str], full_names: list[str]) -> list[list[str]]:
    """The resources to sync, in phases run one after another (see ``FIRST_PHASE``)."""
    if "workspaces" not in full_names:
        return [names]
    first = [n for n in names if n in FIRST_PHASE]
    return [first, [n for n in names if n not in FIRST_PHASE]]


def _prepare_blockers(engine: Engine) -> asyncio.Future[Prepared | None]:
    """``triage.store.prepare_blockers`` in a thread (None if it failed: the recompute after
    the sync then reads everything itself)."""
    def prepare() -> Prepared | None:
        try:
            from ism_tui.triage.store import prepare_blockers

            return prepare_blockers(engine)
        except Exception as exc:  # ImportError, or a cache read error the recompute reports
            log.info("blockers not prepared during the sync: %s", exc)
            return None

    return asyncio.get_running_loop().run_in_executor(None, prepare)


def after_sync(engine: Engine, reports: Sequence[ResourceReport],
               prepared: Prepared | None = None) -> None:
    """Derived data: blockers (only for what changed) and the usage totals. ``prepared``: the
    subjects' part of a full recompute, made during the sync once their tables were synced.

    Warming the analytics rankings (``AnalyticsService.prepare``), which also brings the
    ranking roll-ups up to date, is left to the console, which does it after a sync in its
    worker; on the command line the first ``ism-tui usage`` does it."""
    from storage.triage_io import Scope, customers_of

    # resource -> changed ids, or None when it was fully synced (anything may have changed)
    touched = {r.resource: r.changed for r in reports
               if r.skipped is None and (r.changed is None or r.changed)}
    changed = set(touched)
    scope: Scope | None = None
    # a target or template alias that moved changes every customer's create readiness
    if not any(touched.get(r, ()) is None for r in ("users", "invites", "workspaces",
                                                     "customers")) \
            and not changed & {"targets", "templates"}:
        inputs = changed & {"usage", "usage_periods", "audit", "workspaces", "customers"}
        scope = Scope(users=touched.get("users") or set(),
                      invites=touched.get("invites") or set(),
                      workspaces=touched.get("workspaces") or set(),
                      customers=touched.get("customers") or set(),
                      analytics=bool(inputs), audit="audit" in changed)
        if inputs and "audit" not in inputs and all(touched[r] is not None for r in inputs):
            # only the empty-analytics views of the customers whose usage or workspaces moved
            scope.analytics_customers = customers_of(
                engine, {r: ids for r in inputs if (ids := touched[r]) is not None})
    from storage.usage_rollups import refresh_usage_daily

    # Only the usage totals: the blocker diagnoses read nothing else, and the ranking roll-ups
    # (~0.6 s more after a 100k sync) are built by the first reader that ranks (the console
    # warms its rankings after a sync, in a worker). The totals are SQLite work (the GIL
    # released), summed in a thread beside the blocker snapshot and the Python rules, which
    # wait for them only before the first analytics diagnosis.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ism-rollups") as pool:
        rollups = (pool.submit(refresh_usage_daily, engine, rankings=False)
                   if "usage" in changed else None)
        try:
            from ism_tui.triage.store import recompute_blockers
        except ImportError:
            pass
        else:
            recompute_blockers(engine, scope=scope,
                               wait=rollups.result if rollups is not None else None,
                               prepared=prepared if scope is None else None)
        if rollups is not None:
            rollups.result()  # its error, if any, is the sync's


async def _sync_resource(services: Services, sources: PageSources, resource: str,
                         state: SyncStateRow, full: bool, emit: ProgressFn, *,
                         tables: bool = False) -> ResourceReport:
    """``tables``: a listing process ships this pass's pages as ``storage.page_tables``
    databases (the second phase's passes: there the writer, not the listing, sets the pace)."""
    engine = services.engine
    resuming = bool(state.full_sync_id)
    mode = "full" if full or _full_pass(state) else "incremental"
    rep = ResourceReport(resource, mode)
    t0 = time.perf_counter()
    emit(SyncProgress(resource, 0, state.row_count or None, "start"))
    gen: str | None = None
    after_id: str | None = None
    since: str | None = None
    if mode == "full":
        gen = state.full_sync_id or uuid.uuid4().hex[:12]
        after_id = _resume_point(state)
        await asyncio.to_thread(_mark_start, engine, resource, gen, after_id)
    else:
        since = _minus_overlap(state.cursor)
    high_water = state.cursor
    # The server's clock when this listing began: the next incremental sync asks for what
    # changed since then (minus the overlap), so a quiet resource's newest batch (the nightly
    # customer update, today's usage posting) is not listed again on every sync. Not for a
    # resumed full sync: objects may have changed behind its resume point since it began.
    began: str | None = None
    first_page = not resuming
    # Pipelined: page N is written (in a thread) while page N+1 is fetched and validated.
    # ``run_in_executor`` submits the write at once, so a cancelled sync still commits it;
    # progress counts a page only once it is committed.
    loop = asyncio.get_running_loop()
    writing: asyncio.Future[tuple[list[str], str | None]] | None = None
    if mode == "incremental":
        rep.changed = set()
    in_flight = (0, 0)

    def later(newest: str | None) -> None:
        nonlocal high_water
        if newest is not None and (high_water is None or newest > high_water):
            high_water = newest

    async def committed() -> None:
        assert writing is not None
        ids, newest = await writing
        later(newest)
        if rep.changed is not None:
            rep.changed.update(ids)
        rep.rows += in_flight[0]
        rep.deleted += in_flight[1]
        rep.pages += 1
        emit(SyncProgress(resource, rep.rows, state.row_count or None, "page"))

    try:
        try:
            async with contextlib.aclosing(sources.pages(
                    resource, after_id=after_id, updated_since=since, tables=tables)) as pages:
                async for page in pages:
                    if first_page:
                        first_page = False
                        began = _server_time(page.served_at)
                    later(page.newest)
                    if writing is not None:
                        await committed()
                    writing = loop.run_in_executor(None, functools.partial(
                        _write_page, engine, resource, page.rows, page.deleted, gen,
                        page.next_after_id if mode == "full" else None,
                        only_changed=mode == "incremental"))
                    in_flight = (page.count, len(page.deleted))
            if writing is not None:
                await committed()
        finally:
            if writing is not None and not writing.done():
                await asyncio.wait([writing])  # never leave a write running unobserved
        if began is not None and (high_water is None or began > high_water):
            high_water = began
        rep.pruned = await asyncio.to_thread(_finish, engine, resource, gen, high_water)
        emit(SyncProgress(resource, rep.rows, rep.rows, "done", done=True))
    except PermissionDenied as exc:
        if resource not in ROLE_OPTIONAL:
            rep.error = str(exc)
        else:
            rep.skipped = NOT_PERMITTED
        await asyncio.to_thread(_record_error, engine, resource,
                                rep.error or NOT_PERMITTED, rep.skipped is not None)
        emit(SyncProgress(resource, rep.rows, None, "skipped" if rep.skipped else "error",
                          done=True, error=rep.error))
    except (ApiError, OSError) as exc:
        rep.error = scrub(str(exc))
        await asyncio.to_thread(_record_error, engine, resource, rep.error, False)
        emit(SyncProgress(resource, rep.rows, None, "error", done=True, error=rep.error))
        if isinstance(exc, AuthError):
            raise
    except Exception as exc:  # a cache write failed: keep the other resources going
        rep.error = scrub(f"could not write to the cache ({exc.__class__.__name__}): {exc}", 400)
        await asyncio.to_thread(_record_error, engine, resource, rep.error, False)
        emit(SyncProgress(resource, rep.rows, None, "error", done=True, error=rep.error))
    rep.seconds = round(time.perf_counter() - t0, 3)
    return rep


def _full_pass(state: SyncStateRow) -> bool:
    """A resource lists everything when it never synced or a full pass is to be resumed."""
    return state.cursor is None or bool(state.full_sync_id)


def _server_time(when: str | None) -> str | None:
    """The server's ``Date`` (cache text), never later than this machine's clock: a Console
    (or a proxy in front of it) whose clock runs ahead would otherwise move the cursor past
    changes not yet listed."""
    from storage.rows import iso

    return min(when, str(iso(datetime.now(UTC)))) if when is not None else None


def _minus_overlap(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    when = datetime.fromisoformat(cursor.replace("Z", "+00:00")) - CURSOR_OVERLAP
    return when.isoformat().replace("+00:00", "Z")


def _mark_start(engine: Engine, resource: str, gen: str, after_id: str | None) -> None:
    from storage.bulk_indexes import defer_indexes
    from storage.sync_state import table_name, write_state

    with _writing(engine) as conn:
        defer_indexes(conn, table_name(resource))
        write_state(conn, resource, full_sync_id=gen, resume_after_id=after_id,
                    last_attempt_at=_now())


def _write_page(engine: Engine, resource: str, rows: Callable[[], list[Row] | PageTable],
                deleted: list[str], gen: str | None, resume_after: str | None, *,
                only_changed: bool = False) -> tuple[list[str], str | None]:
    """One page in one transaction: rows, tombstones, and (full sync) the resume point.
    ``rows`` makes the page's rows here, in the writer thread. Returns the ids that really
    changed when ``only_changed`` (incremental), and the rows' newest ``updated_at`` (None for
    a page table: its listing process sent that along, as ``ListedPage.newest``)."""
    from storage.rows import newest_updated
    from storage.sync_state import write_state
    from storage.upsert import upsert_rows

    made = rows()
    with _writing(engine) as conn:
        changed = upsert_rows(conn, resource, made, deleted, sync_gen=gen,
                              only_changed=only_changed)
        if gen is not None:
            write_state(conn, resource, resume_after_id=resume_after)
    return changed, newest_updated(resource, made) if isinstance(made, list) else None


def _finish(engine: Engine, resource: str, gen: str | None, cursor: str | None) -> int:
    from storage.bulk_indexes import restore_indexes
    from storage.sync_state import count_rows, table_name, write_state
    from storage.upsert import prune_generation

    with _writing(engine) as conn:
        restore_indexes(conn, table_name(resource))
        pruned = prune_generation(conn, resource, gen) if gen is not None else 0
        write_state(conn, resource, cursor=cursor, last_success_at=_now(), last_error=None,
                    resume_after_id=None, full_sync_id=None,
                    row_count=count_rows(conn, resource), last_attempt_at=_now())
    return pruned


def _record_error(engine: Engine, resource: str, message: str, permitted_skip: bool) -> None:
    from storage.sync_state import count_rows, write_state

    with _writing(engine) as conn:
        changes: dict[str, Any] = {"last_error": message, "last_attempt_at": _now()}
        if permitted_skip:
            changes.update(last_success_at=_now(), row_count=count_rows(conn, resource))
        write_state(conn, resource, **changes)


async def sync_object(services: Services, resource: str, object_id: str) -> bool:
    """Re-sync one object (after an action). Returns False if the Console no longer has it."""
    from ism_tui.api.errors import NotFound

    async with services.client() as client:
        try:
            obj = await client.get(resource, object_id)
        except NotFound:
            obj = None
    from storage.rows import make_rows

    rows = functools.partial(make_rows, resource, [obj] if obj is not None else [])
    deleted = [object_id] if obj is None else []
    await asyncio.to_thread(_write_page, services.engine, resource, rows, deleted, None, None)
    return obj is not None


async def fetch_build_status(services: Services, build_id: str) -> str:
    """A build's job status from the Console; once the build has ended, its workspace is
    re-synced so the cache (and every list) shows how it ended."""
    from ism_tui.api.models import ACTIVE_JOB_STATUSES

    async with services.client() as client:
        build = await client.get_build(build_id)
    if build.job_status not in ACTIVE_JOB_STATUSES:
        await sync_object(services, "workspaces", build.workspace_id)
    return build.job_status


async def fetch_build_logs(services: Services, build_id: str, *, page_size: int = 1000) -> int:
    """Fetch a build's log lines after the last cached one; returns how many were added."""
    from storage import build_logs as store
    from storage.rows import build_log_row

    after = await asyncio.to_thread(store.last_log_id, services.engine, build_id)
    added = 0
    async with services.client() as client:
        while True:
            page = await client.build_logs(build_id, after=after, limit=page_size)
            if page.items:
                rows = [build_log_row(x.model_dump(mode="json")) for x in page.items]
                await asyncio.to_thread(store.store_log_rows, services.engine, rows)
                added += len(rows)
                after = page.items[-1].id
            if not page.items or page.next_after_id is None:
                return added

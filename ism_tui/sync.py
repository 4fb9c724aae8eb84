"""Sync: Console API pages -> validated wire structs -> one committed transaction per page.

Full syncs stamp every row with a generation id and prune rows the server no longer lists only
once the resource completed, so an interrupted sync (even ``kill -9``) leaves the last good data
readable and resumes from ``resume_after_id`` next time. Incremental syncs ask for
``updated_since`` = the resource's cursor (minus an overlap) and apply tombstones as deletions.

A ``Sync`` is one run: pages are fetched and decoded on its event loop, their rows made and
written in threads through the one writer connection the run owns, one page at a time under its
lock; readers never wait (WAL).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from ism_tui.api.errors import ApiError, AuthError, PermissionDenied
from ism_tui.redact import scrub

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

    from ism_tui.api.client import ConsoleClient
    from ism_tui.services import Services
    from ism_tui.triage.store import Prepared
    from storage.sync_state import SyncStateRow

log = logging.getLogger("ism_tui.sync")
CURSOR_OVERLAP = timedelta(seconds=60)
NOT_PERMITTED = "not permitted for this role"
# Biggest first, so the long poles start early under the concurrency bound.
SYNC_ORDER = ("workspaces", "usage", "users", "invites", "usage_periods", "audit", "customers",
              "targets", "templates")
# A full pass of workspaces (the table operators open first, and what most blockers are about)
# runs with only the small reference tables beside it; the rest follows: fewer passes then
# share the write lock and the GIL, so workspaces land sooner. Incremental syncs move few
# rows and run in one phase.
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
        data["errors"] = self.errors
        return data


ProgressFn = Callable[[SyncProgress], None]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


async def run_sync(services: Services, *, full: bool = False,
                   resources: Sequence[str] | None = None,
                   progress: ProgressFn | None = None) -> SyncReport:
    """Sync ``resources`` (default: all) into the cache; never raises for API errors."""
    return await Sync(services, full=full, resources=resources, progress=progress).run()


class Sync:
    """One sync run. It owns its writer: one connection through which every write of the run
    goes (one per page would pay for connecting and its PRAGMAs each time), and a lock that
    queues those writes (passes of several resources write concurrently, and SQLite's own busy
    handler would sleep between tries). WAL checkpoints are SQLite's own, in the writer's
    commits."""

    def __init__(self, services: Services, *, full: bool = False,
                 resources: Sequence[str] | None = None,
                 progress: ProgressFn | None = None) -> None:
        self.services = services
        self.full = full
        self.asked = list(resources) if resources is not None else None
        self.emit: ProgressFn = progress or (lambda _p: None)
        self._lock = threading.Lock()
        self._writer: Connection | None = None

    async def run(self) -> SyncReport:
        report = SyncReport(started_at=_now())
        started = time.perf_counter()
        unknown = set(self.asked or ()) - set(SYNC_ORDER)
        if unknown:
            report.error = f"unknown resources: {', '.join(sorted(unknown))}"
            return report
        names = [r for r in SYNC_ORDER if self.asked is None or r in self.asked]
        prepared: asyncio.Future[Prepared | None] | None = None
        try:
            await asyncio.to_thread(self._open)
            prepared = await self._run(report, names)
        except ApiError as exc:
            report.error = str(exc)
        except Exception as exc:  # ConfigError, CacheError: their messages are actionable
            report.error = scrub(str(exc) or exc.__class__.__name__)
        finally:
            await asyncio.to_thread(self._close)
        from ism_tui.memory import release_freed_memory

        # The pages' rows are gone: their memory goes back before the after-sync work, and that
        # work's afterwards (a console that syncs would otherwise keep both for good).
        release_freed_memory()
        ahead = await prepared if prepared is not None else None
        if any(r.rows or r.deleted or r.pruned for r in report.resources):
            await asyncio.to_thread(after_sync, self.services.engine, report.resources, ahead)
            release_freed_memory()
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    async def _run(self, report: SyncReport, names: list[str]
                   ) -> asyncio.Future[Prepared | None] | None:
        """Every pass, in phases; returns the blockers being prepared, if they were."""
        from storage.load import set_me
        from storage.sync_state import read_state

        engine = self.services.engine
        states = {n: await asyncio.to_thread(read_state, engine, n) for n in names}
        full_names = [n for n in names if self.full or _full_pass(states[n])]
        prepared: asyncio.Future[Prepared | None] | None = None
        async with self.services.client() as client:
            me = await client.me()
            report.me = me.model_dump(mode="json")
            await asyncio.to_thread(set_me, engine, report.me)
            listed = names
            if me.role == "customer_member":  # never asked: the Console audits each 403 as
                names = [n for n in names if n not in ROLE_OPTIONAL]  # "analytics.view denied"
                full_names = [n for n in full_names if n not in ROLE_OPTIONAL]
                for name in listed:
                    if name not in names:
                        await asyncio.to_thread(self._record_error, name, NOT_PERMITTED, True)
                        report.resources.append(ResourceReport(name, "full",
                                                               skipped=NOT_PERMITTED))
                        self.emit(SyncProgress(name, 0, None, "skipped", done=True))
            bound = asyncio.Semaphore(self.services.settings.settings.concurrency)
            phases = _phases(names, full_names)
            # A first or full sync recomputes every blocker afterwards: the part that reads
            # only the subjects' tables starts once they are synced, beside usage's pass.
            waiting_for = set(PREPARE_INPUTS & set(names)) if len(phases) > 1 else None

            async def one(name: str) -> ResourceReport:
                nonlocal prepared
                async with bound:
                    done = await self._pass(client, name, states[name])
                if waiting_for is not None and name in waiting_for:
                    waiting_for.discard(name)
                    if not waiting_for:
                        prepared = _prepare_blockers(engine)
                return done

            for phase in phases:
                report.resources += await asyncio.gather(*(one(n) for n in phase))
            for done in report.resources:
                done.rejected = client.rejected.get(done.resource, [])
        report.resources.sort(key=lambda r: listed.index(r.resource))
        return prepared

    # ------------------------------------------------------------------ the writer

    def _open(self) -> None:
        with self._lock:
            self._writer = self.services.engine.connect()

    def _close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        """A write transaction on the run's writer, queued behind the run's other writes."""
        with self._lock:
            conn = self._writer
            if conn is None:
                raise RuntimeError("the sync's writer is closed")
            with conn.begin():
                yield conn

    # ------------------------------------------------------------------ one resource

    async def _pass(self, client: ConsoleClient, resource: str, state: SyncStateRow
                    ) -> ResourceReport:
        """One resource's pages, fetched and decoded here while the previous page is written
        in a thread (``run_in_executor`` submits the write at once, so a cancelled sync still
        commits it; progress counts a page only once it is committed)."""
        resuming = bool(state.full_sync_id)
        mode = "full" if self.full or _full_pass(state) else "incremental"
        rep = ResourceReport(resource, mode)
        t0 = time.perf_counter()
        self.emit(SyncProgress(resource, 0, state.row_count or None, "start"))
        gen: str | None = None
        after_id: str | None = None
        since: str | None = None
        if mode == "full":
            gen = state.full_sync_id or uuid.uuid4().hex[:12]
            after_id = state.resume_after_id if resuming else None
            await asyncio.to_thread(self._mark_start, resource, gen, after_id)
        else:
            since = _minus_overlap(state.cursor)
            rep.changed = set()
        high_water = state.cursor
        # The server's clock when this listing began: the next incremental sync asks for what
        # changed since then (minus the overlap), so a quiet resource's newest batch (the
        # nightly customer update, today's usage posting) is not listed again on every sync.
        # Not for a resumed full sync: objects may have changed behind its resume point since.
        began: str | None = None
        first_page = not resuming
        loop = asyncio.get_running_loop()
        writing: asyncio.Future[tuple[list[str], str | None]] | None = None
        in_flight = (0, 0)

        async def committed() -> None:
            nonlocal high_water
            assert writing is not None
            ids, newest = await writing
            if newest is not None and (high_water is None or newest > high_water):
                high_water = newest
            if rep.changed is not None:
                rep.changed.update(ids)
            rep.rows += in_flight[0]
            rep.deleted += in_flight[1]
            rep.pages += 1
            self.emit(SyncProgress(resource, rep.rows, state.row_count or None, "page"))

        page_size = self.services.settings.settings.page_size
        try:
            try:
                async for page in client.iter_pages(resource, after_id=after_id,
                                                    updated_since=since, limit=page_size):
                    if first_page:
                        first_page = False
                        began = _server_time(page.served_at)
                    if writing is not None:
                        await committed()
                    writing = loop.run_in_executor(None, functools.partial(
                        self._write_page, resource, page.items, page.deleted, gen,
                        page.next_after_id if mode == "full" else None,
                        only_changed=mode == "incremental"))
                    in_flight = (len(page.items), len(page.deleted))
                if writing is not None:
                    await committed()
            finally:
                if writing is not None and not writing.done():
                    await asyncio.wait([writing])  # never leave a write running unobserved
            if began is not None and (high_water is None or began > high_water):
                high_water = began
            rep.pruned = await asyncio.to_thread(self._finish, resource, gen, high_water)
            self.emit(SyncProgress(resource, rep.rows, rep.rows, "done", done=True))
        except PermissionDenied as exc:
            if resource not in ROLE_OPTIONAL:
                rep.error = str(exc)
            else:
                rep.skipped = NOT_PERMITTED
            await asyncio.to_thread(self._record_error, resource, rep.error or NOT_PERMITTED,
                                    rep.skipped is not None)
            self.emit(SyncProgress(resource, rep.rows, None,
                                   "skipped" if rep.skipped else "error", done=True,
                                   error=rep.error))
        except (ApiError, OSError) as exc:
            rep.error = scrub(str(exc))
            await asyncio.to_thread(self._record_error, resource, rep.error, False)
            self.emit(SyncProgress(resource, rep.rows, None, "error", done=True,
                                   error=rep.error))
            if isinstance(exc, AuthError):
                raise
        except Exception as exc:  # a cache write failed: keep the other resources going
            rep.error = scrub(f"could not write to the cache ({exc.__class__.__name__}): {exc}",
                              400)
            await asyncio.to_thread(self._record_error, resource, rep.error, False)
            self.emit(SyncProgress(resource, rep.rows, None, "error", done=True,
                                   error=rep.error))
        rep.seconds = round(time.perf_counter() - t0, 3)
        return rep

    def _mark_start(self, resource: str, gen: str, after_id: str | None) -> None:
        from storage.bulk_indexes import defer_indexes
        from storage.sync_state import table_name, write_state

        with self._writing() as conn:
            defer_indexes(conn, table_name(resource))
            write_state(conn, resource, full_sync_id=gen, resume_after_id=after_id,
                        last_attempt_at=_now())

    def _write_page(self, resource: str, items: Sequence[Any], deleted: list[str],
                    gen: str | None, resume_after: str | None, *,
                    only_changed: bool = False) -> tuple[list[str], str | None]:
        """One page in one transaction: rows, tombstones and (full sync) the resume point.
        The rows are made here, before the lock. Returns the ids that really changed when
        ``only_changed`` (incremental), and the rows' newest ``updated_at``."""
        from storage.rows import make_rows, newest_updated
        from storage.sync_state import write_state
        from storage.upsert import upsert_rows

        rows = make_rows(resource, items)
        with self._writing() as conn:
            changed = upsert_rows(conn, resource, rows, deleted, sync_gen=gen,
                                  only_changed=only_changed)
            if gen is not None:
                write_state(conn, resource, resume_after_id=resume_after)
        return changed, newest_updated(resource, rows)

    def _finish(self, resource: str, gen: str | None, cursor: str | None) -> int:
        from storage.bulk_indexes import restore_indexes
        from storage.sync_state import count_rows, table_name, write_state
        from storage.upsert import prune_generation

        with self._writing() as conn:
            restore_indexes(conn, table_name(resource))
            pruned = prune_generation(conn, resource, gen) if gen is not None else 0
            write_state(conn, resource, cursor=cursor, last_success_at=_now(), last_error=None,
                        resume_after_id=None, full_sync_id=None,
                        row_count=count_rows(conn, resource), last_attempt_at=_now())
        return pruned

    def _record_error(self, resource: str, message: str, permitted_skip: bool) -> None:
        from storage.sync_state import count_rows, write_state

        with self._writing() as conn:
            changes: dict[str, Any] = {"last_error": message, "last_attempt_at": _now()}
            if permitted_skip:
                changes.update(last_success_at=_now(), row_count=count_rows(conn, resource))
            write_state(conn, resource, **changes)


def _full_pass(state: SyncStateRow) -> bool:
    """A resource lists everything when it never synced or a full pass is to be resumed."""
    return state.cursor is None or bool(state.full_sync_id)


def _phases(names: list[str], full_names: list[str]) -> list[list[str]]:
    """The resources to sync, in phases run one after another (see ``FIRST_PHASE``)."""
    if "workspaces" not in full_names:
        return [names]
    first = [n for n in names if n in FIRST_PHASE]
    return [first, [n for n in names if n not in FIRST_PHASE]]


def _server_time(when: datetime | None) -> str | None:
    """The server's ``Date`` (cache text), never later than this machine's clock: a Console
    (or a proxy in front of it) whose clock runs ahead would otherwise move the cursor past
    changes not yet listed."""
    from storage.stamps import iso

    if when is None:
        return None
    return min(str(iso(when)), str(iso(datetime.now(UTC))))


def _minus_overlap(cursor: str | None) -> str | None:
    if cursor is None:
        return None
    when = datetime.fromisoformat(cursor.replace("Z", "+00:00")) - CURSOR_OVERLAP
    return when.isoformat().replace("+00:00", "Z")


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
    # are built by the first reader that ranks (the console warms its rankings after a sync).
    # The totals are SQLite work (the GIL released), summed in a thread beside the blocker
    # snapshot and the Python rules, which wait for them only before the first analytics
    # diagnosis.
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


async def sync_object(services: Services, resource: str, object_id: str) -> bool:
    """Re-sync one object (after an action). Returns False if the Console no longer has it."""
    from ism_tui.api.errors import NotFound
    from storage.rows import make_rows
    from storage.upsert import upsert_rows

    async with services.client() as client:
        try:
            obj = await client.get(resource, object_id)
        except NotFound:
            obj = None

    def write() -> None:
        with services.engine.begin() as conn:
            upsert_rows(conn, resource, make_rows(resource, [obj] if obj is not None else []),
                        [object_id] if obj is None else [])

    await asyncio.to_thread(write)
    return obj is not None

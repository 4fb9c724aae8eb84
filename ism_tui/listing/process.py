"""The sync's side of its listing process (see ``worker``).

``ListingProcess.start`` spawns the child and sends it the job; ``listing`` asks it for one
resource and returns an async iterator of ``ListedPage``. A reader thread takes frames off the
child's stdout and hands them to the event loop; rows stay serialized until the writer thread
loads them. If the child dies, every listing still open fails with ``ListingFailed``,
whose message says what happened and what to do.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import functools
import logging
import os
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from ism_tui.api import errors
from ism_tui.api.client import ClientOptions
from ism_tui.listing import protocol
from ism_tui.listing.page import ListedPage
from ism_tui.text import one_line
from storage.page_tables import PageTable

log = logging.getLogger("ism_tui.api")
# How far a resource's listing may run ahead of its writer, in frames' bytes: the second
# phase is listed while the writer rebuilds the workspace indexes (~0.7 s), and its pages wait
# serialized in both processes meanwhile. 8 MiB is 4-5 workspace pages (as rows) or ~13 of
# usage (as page tables, which the writer takes fast: there the listing had set the pace, and
# 16 usage pages ahead instead of 4 brought the second phase from 0.8-0.9 s to ~0.5 s).
AHEAD_BYTES = 8 << 20
_ROOT = str(Path(__file__).resolve().parents[2])  # the directory holding ism_tui/ and storage/
WORKER = "ism_tui.listing.worker"


class ListingFailed(errors.ApiError):
    """The listing process failed in a way that is not an API error."""


class ListingProcessDied(ListingFailed):
    """The listing process ended before its listings did (the sync lists the rest itself)."""


def _error_classes() -> dict[str, type[errors.ApiError]]:
    from ism_tui.api import client  # noqa: F401  (MalformedResponse is defined there)

    found: dict[str, type[errors.ApiError]] = {}
    todo: list[type[errors.ApiError]] = [errors.ApiError]
    while todo:
        cls = todo.pop()
        found[cls.__name__] = cls
        todo.extend(cls.__subclasses__())
    return found


def error_from(meta: tuple[Any, ...], resource: str) -> errors.ApiError:
    """The child's error frame as the typed error the client raised there."""
    _, name, message, status, retry_after, reason = meta
    cls = _error_classes().get(name)
    if cls is None:
        return ListingFailed(f"listing {resource} failed in the listing process: {message}")
    return cls(message, status=status, retry_after=retry_after, reason=reason)


class ListingProcess:
    """A running listing process. Use ``start``, then ``listing`` per resource, then ``close``."""

    def __init__(self, proc: subprocess.Popen[bytes], profile: str) -> None:
        self._proc = proc
        self._profile = profile
        self._loop = asyncio.get_running_loop()
        self._queues: dict[str, asyncio.Queue[tuple[tuple[Any, ...], bytes]]] = {}
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._lock = threading.Lock()
        self._ended = False
        self._ready = False
        self._death: tuple[tuple[Any, ...], bytes] | None = None
        self.pages_listed = 0
        self.tables_listed = 0  # of which page tables
        self.pid = proc.pid
        self._reader = threading.Thread(target=self._read, name="listing-frames", daemon=True)
        self._reader.start()
        threading.Thread(target=self._read_stderr, name="listing-stderr", daemon=True).start()

    @classmethod
    def start(cls, url: str, token: str, options: ClientOptions, *, concurrency: int,
              limit: int) -> ListingProcess:
        """Spawn the child (OSError if it cannot be started) and send it its job."""
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p)
        # -P: ``-m`` would put the working directory first on the child's path, so an
        # ``ism_tui`` there (another checkout, or something planted) would run instead of
        # this one; the child finds this one through PYTHONPATH.
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", WORKER], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=True)
        job = {"url": url, "token": token, "profile": options.profile,
               "connect_timeout": options.connect_timeout,
               "read_timeout": options.read_timeout,
               "retry": dataclasses.asdict(options.retry),
               "concurrency": concurrency, "limit": limit, "ahead_bytes": AHEAD_BYTES}
        listing = cls(proc, options.profile)
        listing._send(protocol.command("job", resource="", **job))
        return listing

    @property
    def ready(self) -> bool:
        """The child is up (and not dead): a listing asked for now starts at once."""
        return self._ready and self._death is None

    def listing(self, resource: str, *, after_id: str | None,
                tables: bool = False) -> ProcessListing:
        """Start listing ``resource`` from ``after_id``; ``tables``: its pages' rows come as
        ``storage.page_tables`` databases (the writer copies them in SQLite) rather than as
        rows (which the writer binds, but which cost the child less to make)."""
        queue = self._queues[resource] = asyncio.Queue()
        if self._death is not None:
            queue.put_nowait(self._death)
        self._send(protocol.command("list", resource=resource, after_id=after_id,
                                    tables=tables))
        return ProcessListing(self, resource)

    async def close(self) -> None:
        """End the child (closing its stdin). A child that is up is waited for (it ends at
        once; killed if it lingers). One still starting has done nothing for this sync: it is
        killed rather than left to finish its imports, and the reader reaps it."""
        with self._lock:
            self._ended = True
            stdin = self._proc.stdin
            if stdin is not None and not stdin.closed:
                try:
                    stdin.close()
                except OSError:
                    pass
        if self._ready:
            await asyncio.to_thread(self._reap)
        elif self._proc.poll() is None:
            self._proc.kill()

    def _reap(self) -> None:
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=5)

    # ------------------------------------------------------------------ plumbing

    def _send(self, data: bytes) -> None:
        with self._lock:
            stdin = self._proc.stdin
            if self._ended or stdin is None:
                return
            try:
                stdin.write(data)
                stdin.flush()
            except OSError:  # the child is gone: its listings learn it from the reader
                pass

    def _read(self) -> None:
        stdout: IO[bytes] = self._proc.stdout  # type: ignore[assignment]
        read = stdout.read1 if hasattr(stdout, "read1") else stdout.read
        try:
            while (got := protocol.read_frame(read)) is not None:
                resource, meta, rows = got
                if resource:
                    self._deliver(resource, meta, rows)
                elif meta[0] == protocol.READY:
                    self._ready = True
                elif meta[0] == protocol.LOG:
                    log.log(meta[1], "%s", meta[2])
        except (OSError, ValueError, TypeError, EOFError):
            pass
        code = self._proc.wait()
        said = next((line for line in reversed(self._stderr) if line), "")
        detail = f"exit code {code}" + (f": {said}" if said else "")
        self._deliver("", (protocol.ERROR, "ListingProcessDied", (
            f"the sync's listing process ended unexpectedly ({detail}); if this repeats, set "
            f"listing_process = false in profile {self._profile!r}"), None, None, ""), b"")

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for line in self._proc.stderr:
            self._stderr.append(one_line(line.decode(errors="replace"), 300))

    def _deliver(self, resource: str, meta: tuple[Any, ...], rows: bytes) -> None:
        try:
            self._loop.call_soon_threadsafe(self._dispatch, resource, meta, rows)
        except RuntimeError:  # the sync's event loop has closed
            pass

    def _dispatch(self, resource: str, meta: tuple[Any, ...], rows: bytes) -> None:
        """On the event loop: a frame to its listing, or the child's end to every listing."""
        if resource:
            found = self._queues.get(resource)
            if found is not None:
                self.pages_listed += meta[0] in (protocol.PAGE, protocol.TABLE)
                self.tables_listed += meta[0] == protocol.TABLE
                found.put_nowait((meta, rows))
            return
        self._death = (meta, rows)
        for queue in self._queues.values():
            queue.put_nowait((meta, rows))


class ProcessListing:
    """One resource's pages from the listing process, as an async iterator."""

    def __init__(self, owner: ListingProcess, resource: str) -> None:
        self._owner = owner
        self.resource = resource
        self._done = False

    def __aiter__(self) -> AsyncIterator[ListedPage]:
        return self._pages()

    async def aclose(self) -> None:
        """Stop listing (if it has not ended): the child cancels it and lets go of its pages,
        and the listings waiting for this one go ahead."""
        if not self._done:
            self._done = True
            self._owner._send(protocol.command("cancel", resource=self.resource))
        self._owner._queues.pop(self.resource, None)

    async def _pages(self) -> AsyncIterator[ListedPage]:
        owner, resource = self._owner, self.resource
        queue = owner._queues[resource]
        try:
            while True:
                meta, rows = await queue.get()
                kind = meta[0]
                if kind == protocol.PAGE or kind == protocol.TABLE:
                    owner._send(protocol.command("ack", resource=resource))
                    _, count, deleted, next_after_id, newest, served_at = meta
                    made = (functools.partial(protocol.load_rows, rows) if kind == protocol.PAGE
                            else functools.partial(PageTable, rows, count))
                    yield ListedPage(made, count, deleted, next_after_id, newest, served_at)
                elif kind == protocol.END:
                    self._done = True
                    return
                else:
                    self._done = True
                    raise error_from(meta, resource)
        finally:
            await self.aclose()

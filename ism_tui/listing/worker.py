"""The listing process of a sync (``python -m ism_tui.listing.worker``): it lists the pages the
sync asks for, validates them and makes their cache rows, and streams them back as frames
(the rows marshalled, or as a ``storage.page_tables`` database when the listing asks for it).

Its job (URL, token, client options) arrives on stdin, never in argv or the environment. It
runs in its own session, so a Ctrl-C at the terminal reaches the sync, which decides; it ends
when its stdin closes, which is also what happens when the sync's process dies (even
``kill -9``). Each resource may be at most ``ahead_bytes`` of frames ahead of the writer.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import json
import logging
import os
import queue
import sys
import threading
from typing import Any

from ism_tui.api.client import ClientOptions, ConsoleClient, RetryPolicy
from ism_tui.api.errors import ApiError
from ism_tui.listing import protocol
from ism_tui.listing.page import page_facts
from storage import page_tables
from storage.rows import make_rows

F_SETPIPE_SZ = 1031  # Linux: a 1 MiB pipe takes a page in a few writes instead of ~30


class _Output:
    """Frames written to stdout in order by one thread, so the event loop never blocks on a
    full pipe."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._frames: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="frames", daemon=True)
        self._thread.start()

    def send(self, resource: str, meta: tuple[Any, ...], rows: Any = None, *,
             body: bytes = b"") -> int:
        """Queue a frame; returns its size."""
        data = protocol.frame(resource, meta, rows, body=body)
        self._frames.put(data)
        return len(data)

    def _run(self) -> None:
        while (data := self._frames.get()) is not None:
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(self._fd, view):]
            except OSError:  # the sync is gone; its closed stdin ends this process
                return

    def close(self) -> None:
        self._frames.put(None)
        self._thread.join()


class _ForwardLogs(logging.Handler):
    def __init__(self, out: _Output) -> None:
        super().__init__(logging.INFO)
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        self._out.send("", (protocol.LOG, record.levelno, record.getMessage()))


class _Ahead:
    """A resource's pages sent and not yet taken by the sync's writer: its listing waits while
    they hold ``limit`` bytes or more (a page's frame is counted until the sync acks it)."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._sizes: collections.deque[int] = collections.deque()
        self._bytes = 0
        self._room = asyncio.Event()
        self._room.set()

    async def room(self) -> None:
        while self._bytes >= self._limit:
            self._room.clear()
            await self._room.wait()

    def sent(self, size: int) -> None:
        self._sizes.append(size)
        self._bytes += size

    def taken(self) -> None:
        if self._sizes:
            self._bytes -= self._sizes.popleft()
        if self._bytes < self._limit:
            self._room.set()


class _Listings:
    def __init__(self, client: ConsoleClient, out: _Output, job: dict[str, Any]) -> None:
        self._client = client
        self._out = out
        self._limit = int(job["limit"])
        self._ahead_bytes = int(job["ahead_bytes"])
        self._bound = asyncio.Semaphore(int(job["concurrency"]))
        self._ahead: dict[str, _Ahead] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, resource: str, after_id: str | None, tables: bool) -> None:
        self._ahead[resource] = _Ahead(self._ahead_bytes)
        self._tasks[resource] = asyncio.create_task(self._list(resource, after_id, tables))

    def ack(self, resource: str) -> None:
        if resource in self._ahead:
            self._ahead[resource].taken()

    def cancel(self, resource: str) -> None:
        if resource in self._tasks:
            self._tasks[resource].cancel()

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _list(self, resource: str, after_id: str | None, tables: bool) -> None:
        send, ahead = self._out.send, self._ahead[resource]
        try:
            async with self._bound:
                async for page in self._client.iter_pages(resource, after_id=after_id,
                                                          limit=self._limit):
                    await ahead.room()
                    rows = make_rows(resource, page.items)
                    # Rows sent as rows: the writer reads their newest off them, as for a page
                    # listed in its process; a page table's rows it never sees, so it comes too.
                    facts = page_facts(resource, page, rows if tables else None)
                    del page  # the decoded objects go before the rows are serialized
                    if tables:
                        ahead.sent(send(resource, (protocol.TABLE, *facts),
                                        body=page_tables.build(resource, rows)))
                    else:
                        ahead.sent(send(resource, (protocol.PAGE, *facts), rows))
                    del rows
            send(resource, (protocol.END,))
        except ApiError as exc:
            send(resource, (protocol.ERROR, type(exc).__name__, exc.message, exc.status,
                            exc.retry_after, exc.reason))
        except Exception as exc:  # a bug, or an object no row maker expected
            send(resource, (protocol.ERROR, "", f"{type(exc).__name__}: {exc}"[:400], None,
                            None, ""))


async def _serve(out: _Output) -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    job = json.loads(await commands.readline() or b"null")
    if not isinstance(job, dict):
        raise SystemExit("no job on stdin: this process is started by a sync, not by hand")
    options = ClientOptions(profile=job["profile"], connect_timeout=job["connect_timeout"],
                            read_timeout=job["read_timeout"], retry=RetryPolicy(**job["retry"]))
    async with ConsoleClient(job["url"], job["token"], options) as client:
        listings = _Listings(client, out, job)
        out.send("", (protocol.READY,))
        try:
            while line := await commands.readline():
                cmd = json.loads(line)
                op, resource = cmd["op"], cmd["resource"]
                if op == "list":
                    listings.start(resource, cmd.get("after_id"), bool(cmd.get("tables")))
                elif op == "ack":
                    listings.ack(resource)
                elif op == "cancel":
                    listings.cancel(resource)
        finally:
            await listings.stop()


def main() -> None:
    # As the sync does (sync._bulk_gc): millions of short-lived acyclic objects; the default
    # threshold ran the cyclic collector every 700 allocations.
    gc.freeze()
    gc.set_threshold(20_000, 50, 100)
    # Frames get the pipe to themselves: anything printed to stdout goes to stderr instead.
    frames = os.dup(1)
    os.dup2(2, 1)
    try:
        import fcntl

        fcntl.fcntl(frames, F_SETPIPE_SZ, 1 << 20)
    except (ImportError, OSError):
        pass
    out = _Output(frames)
    api_log = logging.getLogger("ism_tui.api")
    api_log.setLevel(logging.INFO)
    api_log.addHandler(_ForwardLogs(out))
    api_log.propagate = False
    try:
        asyncio.run(_serve(out))
    finally:
        out.close()


if __name__ == "__main__":
    main()

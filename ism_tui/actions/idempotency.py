"""One Idempotency-Key per confirmed action, and an in-process guard against acting twice.

The Console returns the first result for a replayed key, so a network retry or a repeated
request with the same key never acts twice server-side. ``InFlight`` covers the process side: a
second ``execute`` of the same plan (a double key press, a re-entrant worker) waits for and
returns the first run's outcome instead of sending anything, and a different plan for the same
action and target is refused while the first is still running.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


def new_key() -> str:
    """A fresh Idempotency-Key (random UUID4 text: unguessable, never reused)."""
    return str(uuid.uuid4())


class AlreadyRunning(Exception):
    """Another attempt at the same action on the same target is still running."""


class InFlight(Generic[T]):
    """Runs each key at most once per process; remembers finished outcomes by key."""

    def __init__(self, remember: int = 1000) -> None:
        self._running: dict[str, asyncio.Future[T]] = {}
        self._targets: dict[tuple[str, str], str] = {}
        self._done: dict[str, T] = {}
        self._remember = remember

    def outcome(self, key: str) -> T | None:
        """The finished outcome of ``key``, if it already ran."""
        return self._done.get(key)

    def forget(self, key: str) -> None:
        """Allow ``key`` to run again (after a failure that may not have reached the Console:
        re-sending the same key is safe, the Console replays the first result if it acted)."""
        self._done.pop(key, None)

    async def run(
        self, key: str, action: str, target: str, work: Callable[[], Awaitable[T]]
    ) -> tuple[T, bool]:
        """Run ``work`` once for ``key``; returns ``(outcome, first)`` where ``first`` is False
        when an earlier or concurrent run's outcome is returned instead."""
        if key in self._done:
            return self._done[key], False
        if key in self._running:
            return await asyncio.shield(self._running[key]), False
        other = self._targets.get((action, target))
        if other is not None and other != key:
            raise AlreadyRunning(f"{action} of {target} is already in progress")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        self._targets[(action, target)] = key
        try:
            result = await work()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            self._done[key] = result
            if len(self._done) > self._remember:
                self._done.pop(next(iter(self._done)))
            return result, True
        finally:
            self._running.pop(key, None)
            self._targets.pop((action, target), None)

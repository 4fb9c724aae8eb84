"""Leaving when the terminal goes away.

An operator's SSH link drops, or the tmux server holding the console is killed: the terminal
hangs up. Usually SIGHUP ends the process, but not always (started from ``make``, the console
was seen not to get it), and Textual's input thread then spins on the dead terminal at 100%
CPU forever while its output queue blocks the event loop. So a daemon thread polls the
terminal and ends the process once it is gone. Nothing is lost: there is no one to show
anything to, and the cache survives an abrupt exit like ``kill -9`` (WAL, one transaction per
page).
"""

from __future__ import annotations

import os
import sys
import termios
import threading
import time
from collections.abc import Callable, Sequence

HANGUP_EXIT_CODE = 129  # 128 + SIGHUP, what a shell reports for a hung-up job


def terminal_fds() -> list[int]:
    """The descriptors of the terminal the console draws on (stdin and stderr, if ttys)."""
    fds = []
    for stream in (sys.__stdin__, sys.__stderr__):
        try:
            fd = stream.fileno() if stream is not None else -1
        except (OSError, ValueError):
            continue
        if fd >= 0 and os.isatty(fd):
            fds.append(fd)
    return fds


def terminal_lost(fds: Sequence[int]) -> bool:
    """True once any of ``fds`` no longer answers as a terminal (hung up or closed)."""
    for fd in fds:
        try:
            termios.tcgetattr(fd)
        except (termios.error, OSError):
            return True
    return False


def _leave() -> None:
    os._exit(HANGUP_EXIT_CODE)


def watch_terminal(fds: Sequence[int] | None = None, *, interval: float = 1.0,
                   on_lost: Callable[[], None] = _leave) -> threading.Thread | None:
    """Start a daemon thread that calls ``on_lost`` once the terminal is gone; None when
    there is no terminal to watch (headless, piped)."""
    watched = list(terminal_fds() if fds is None else fds)
    if not watched:
        return None
    def run() -> None:
        while not terminal_lost(watched):
            time.sleep(interval)
        on_lost()

    thread = threading.Thread(target=run, name="ism-terminal-watch", daemon=True)
    thread.start()
    return thread

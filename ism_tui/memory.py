"""Handing freed memory back to the operating system.

glibc keeps the pages of freed small allocations in its heap: after a 100k full sync (rows,
pages, the blocker snapshot) the process held ~200 MB of which ~90 MB were free, and kept them
for as long as the console ran. ``malloc_trim(0)`` returns them; elsewhere (macOS, musl) this is
a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim: Callable[[int], int] = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_freed_memory() -> None:
    """Return the C heap's free pages to the OS, where the C library can (glibc)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)

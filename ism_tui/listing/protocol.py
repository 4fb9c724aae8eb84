"""Frames between a sync and its listing process.

The sync sends the job, then commands, as JSON lines on the child's stdin:
``{"op": "list", "resource", "after_id"}``,
``{"op": "ack", "resource"}`` (one page taken: the child may list one more) and
``{"op": "cancel", "resource"}``. Closing stdin ends the child.

The child answers with binary frames on its stdout: a header, the resource name (empty for the
process's own messages), a pickled meta tuple and, for pages, the pickled rows. Rows stay pickled
until the writer thread needs them. Pickle is safe here: both ends are this program, over a
private pipe; nothing from the network is unpickled that the child did not pickle itself.
"""

from __future__ import annotations

import json
import pickle
import struct
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct("<IIB")  # body length, meta length, resource name length

# meta tuples, by their first item
PAGE = "page"  # (PAGE, count, deleted ids, next_after_id, newest, served_at)
END = "end"  # (END,): the listing is complete
ERROR = "error"  # (ERROR, error class name, message, status, retry_after, reason)
READY = "ready"  # (READY,): imports done and client made; listings start at once from now
LOG = "log"  # (LOG, level, message): a record of the child's ``ism_tui.api`` logger


def frame(resource: str, meta: tuple[Any, ...], rows: Any = None) -> bytes:
    name = resource.encode()
    head = pickle.dumps(meta, pickle.HIGHEST_PROTOCOL)
    body = b"" if rows is None else pickle.dumps(rows, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(name) + len(head) + len(body), len(head), len(name)) + name + head + body


def read_frame(read: Callable[[int], bytes]) -> tuple[str, tuple[Any, ...], bytes] | None:
    """The next frame as (resource, meta, pickled rows); None at the end of the stream."""
    header = _exactly(read, HEADER.size)
    if header is None:
        return None
    size, meta_size, name_size = HEADER.unpack(header)
    body = _exactly(read, size)
    if body is None:
        return None
    name = body[:name_size].decode()
    meta = pickle.loads(body[name_size:name_size + meta_size])
    return name, meta, body[name_size + meta_size:]


def _exactly(read: Callable[[int], bytes], size: int) -> bytes | None:
    chunks: list[bytes] = [b""]
    left = size
    while left:
        chunk = read(min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return chunks[1] if len(chunks) == 2 else b"".join(chunks)


def command(op: str, **fields: Any) -> bytes:
    return json.dumps({"op": op, **fields}).encode() + b"\n"

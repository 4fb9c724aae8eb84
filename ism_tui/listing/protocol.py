"""Frames between a sync and its listing process.

The sync sends the job, then commands, as JSON lines on the child's stdin:
``{"op": "list", "resource", "after_id", "tables"}`` (``tables``: pages as ``TABLE`` frames),
``{"op": "ack", "resource"}`` (one page taken: the child may list further ahead) and
``{"op": "cancel", "resource"}``. Closing stdin ends the child.

The child answers with binary frames on its stdout: a header, the resource name (empty for the
process's own messages), a meta tuple in ``marshal`` format and, for pages, the rows: in
``marshal`` format (``PAGE``), or as a serialized ``storage.page_tables`` database (``TABLE``).
Rows stay serialized until the writer thread needs them.

Why marshal: rows are tuples of str, int, float and None, which it writes ~5x faster than pickle
(pickle memoizes every string; marshal skips objects nothing else refers to) and reads ~1.4x
faster (100k workspace rows: 0.05-0.07 s against 0.37-0.40 s to write, 0.20 against 0.30 s to
read), and the reading side is the sync's writer, the busiest thread of a full sync. Its format
belongs to one Python version, which both ends share: the child is this interpreter. It is safe
here: both ends are this program, over a private pipe; nothing from the network is loaded that
the child did not write itself, and anything but those plain types fails at the child's end.
"""

from __future__ import annotations

import json
import marshal
import struct
from collections.abc import Callable
from typing import Any

HEADER = struct.Struct("<IIB")  # body length, meta length, resource name length

# meta tuples, by their first item
PAGE = "page"  # (PAGE, count, deleted ids, next_after_id, None, served_at): newest is the writer's
TABLE = "table"  # (TABLE, ..., newest, served_at): the rows as a ``storage.page_tables`` database
END = "end"  # (END,): the listing is complete
ERROR = "error"  # (ERROR, error class name, message, status, retry_after, reason)
READY = "ready"  # (READY,): imports done and client made; listings start at once from now
LOG = "log"  # (LOG, level, message): a record of the child's ``ism_tui.api`` logger


MARSHAL_VERSION = 4


def frame(resource: str, meta: tuple[Any, ...], rows: Any = None, *,
          body: bytes = b"") -> bytes:
    """A frame of ``meta`` and ``rows`` (marshalled), or of ``meta`` and ``body`` as is."""
    name = resource.encode()
    head = marshal.dumps(meta, MARSHAL_VERSION)
    if rows is not None:
        body = marshal.dumps(rows, MARSHAL_VERSION)
    return HEADER.pack(len(name) + len(head) + len(body), len(head), len(name)) + name + head + body


def read_frame(read: Callable[[int], bytes]) -> tuple[str, tuple[Any, ...], bytes] | None:
    """The next frame as (resource, meta, serialized rows); None at the end of the stream."""
    header = _exactly(read, HEADER.size)
    if header is None:
        return None
    size, meta_size, name_size = HEADER.unpack(header)
    body = _exactly(read, size)
    if body is None:
        return None
    name = body[:name_size].decode()
    meta = marshal.loads(body[name_size:name_size + meta_size])
    return name, meta, body[name_size + meta_size:]


def load_rows(body: bytes) -> Any:
    """A page's rows from a frame's body (as ``read_frame`` returned it)."""
    return marshal.loads(body)


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

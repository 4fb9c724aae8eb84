"""Cache timestamps: ISO 8601 UTC text with microseconds and a ``Z``, which sorts correctly.

Kept apart from ``storage.rows`` (row making): the console's first paint reads freshness with
these alone.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime


def iso(value: datetime | date | None) -> str | None:
    """ISO 8601 text that sorts correctly: UTC with microseconds and a ``Z``."""
    if value is None:
        return None
    if isinstance(value, datetime):
        # isoformat is faster than strftime; same text: 2026-11-24T09:14:00.000000Z
        text = value.isoformat(timespec="microseconds")
        if text.endswith("+00:00"):
            return text[:-6] + "Z"
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    return value.isoformat()


def parse_iso(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def ts(value: str | datetime | None) -> str | None:
    """Canonical cache text of an RFC 3339 timestamp (wire text, which the decoder checked) or
    of a datetime: UTC, microseconds, ``Z``."""
    if value is None:
        return None
    if not isinstance(value, str):
        return iso(value)
    n = len(value)
    if n == 20 and value[19] == "Z" and value[10] == "T":  # 2026-11-24T09:14:00Z, the usual
        return value[:19] + ".000000Z"
    if n == 27 and value[26] == "Z" and value[19] == "." and value[10] == "T":
        return value
    # Offsets, other precisions, a space or lowercase separator: parsed as the decoder's check
    # parsed them, but digits beyond microseconds are cut first, as pydantic (the models an
    # action's result comes in) and Python do: msgspec rounds them, which gave the same
    # instant two texts, and can carry into the next second (or day).
    import msgspec

    return iso(msgspec.convert(_BEYOND_MICROSECONDS.sub(r"\1", value, count=1), datetime))


_BEYOND_MICROSECONDS = re.compile(r"(\.\d{6})\d+")

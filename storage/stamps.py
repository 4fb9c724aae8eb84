"""Cache timestamps: ISO 8601 UTC text with microseconds and a ``Z``, which sorts correctly.

Kept apart from ``storage.rows`` (which imports pydantic and msgspec): the console's first paint
reads freshness with these alone.
"""

from __future__ import annotations

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


def ts(value: str | None) -> str | None:
    """Canonical cache text of an RFC 3339 timestamp: UTC, microseconds, ``Z``."""
    if value is None:
        return None
    n = len(value)
    if n == 20 and value[19] == "Z":  # 2026-11-24T09:14:00Z, what most servers send
        return value[:19] + ".000000Z"
    if n == 27 and value[26] == "Z" and value[19] == ".":
        return value
    return iso(parse_iso(value))

"""Who the cached token is, as the last sync recorded it (``meta['me']``).

Light on purpose (no pydantic, no SQLAlchemy): the console's header reads it before its first
paint, and analytics applies its role rules with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from ism_tui.text import clean

ROLES = ("platform_operator", "customer_admin", "customer_member")


@dataclass(frozen=True)
class Viewer:
    """``role`` is ``unknown`` before a sync (or for a role this version does not know)."""

    role: str = "unknown"
    customer_id: str | None = None
    customer_name: str | None = None
    email: str = ""

    @classmethod
    def from_meta(cls, raw: str | None) -> Viewer:
        if not raw:
            return cls()
        try:
            me: Any = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return cls()
        if not isinstance(me, dict):
            return cls()
        role = me.get("role")
        return cls(
            role=role if role in ROLES else "unknown",
            customer_id=me.get("customer_id"),
            customer_name=clean(me.get("customer_name")) or None,
            email=clean(me.get("email")),
        )

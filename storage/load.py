"""Loading wire-shaped objects into the cache without HTTP (tests, fixtures, benchmarks).

The sync (``ism_tui.sync``) does the same per page; this is the one-shot form.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import Engine

from ism_tui.api import models as m
from ism_tui.text import clean
from storage.db import set_meta
from storage.rows import ROW_MAKERS, build_log_row
from storage.upsert import upsert_build_logs, upsert_rows


def load_wire(engine: Engine, resource: str, objects: Iterable[dict[str, Any]]) -> int:
    """Validate ``objects`` with the resource's wire model and upsert them; returns the count."""
    model = m.LIST_RESOURCES[resource]
    make = ROW_MAKERS[resource]
    rows = []
    deleted = []
    for obj in objects:
        item = model.model_validate(obj)
        if item.deleted:
            deleted.append(item.id)
        else:
            rows.append(make(item))
    with engine.begin() as conn:
        upsert_rows(conn, resource, rows, deleted)
    return len(rows)


def load_build_logs(engine: Engine, logs: Iterable[dict[str, Any]]) -> int:
    rows = [build_log_row(m.BuildLog.model_validate(x).model_dump(mode="json")) for x in logs]
    with engine.begin() as conn:
        upsert_build_logs(conn, rows)
    return len(rows)


def set_me(engine: Engine, me: dict[str, Any]) -> None:
    """Record who the token is (``Me`` wire dict) in the cache's meta table."""
    who = m.Me.model_validate(me).model_dump(mode="json")
    # Untrusted text, printed by ``ism-tui status`` and the header: no escapes kept.
    cleaned = {k: clean(v) if isinstance(v, str) else v for k, v in who.items()}
    set_meta(engine, "me", orjson.dumps(cleaned).decode())

"""Finding an action's subject in the cache from what a user typed: an id, a name or an email.

Workspace actions accept a workspace id, a workspace name, the owner's email (when they own
exactly one live workspace) or, for ``cancel``, a build id. ``reissue_invite`` accepts an invite
id or the invitee's email (their newest invite that can be reissued). Ambiguity is an error that
lists the candidates, never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Engine, text

from ism_tui.actions.policy import ACTION_KIND, REISSUABLE, SubjectKind
from ism_tui.text import one_line

MAX_CANDIDATES = 8


class TargetError(Exception):
    """The target cannot be resolved; the message says what to type instead."""


@dataclass(frozen=True)
class Subject:
    """A resolved subject: its kind, id, cached row and customer facts for messages."""

    kind: SubjectKind
    id: str
    row: dict[str, Any]
    customer_name: str
    customer_admins: tuple[str, ...]

    @property
    def customer_id(self) -> str | None:
        value = self.row.get("customer_id")
        return str(value) if value else None

    @property
    def name(self) -> str:
        """The label a user recognises: workspace name or invitee email."""
        return str(self.row.get("name") or self.row.get("email") or self.id)

    @property
    def build_id(self) -> str | None:
        value = self.row.get("build_id")
        return str(value) if value else None


def _rows(engine: Engine, sql: str, **params: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(text(sql), params).mappings().all()]


def _customer(engine: Engine, customer_id: str | None) -> tuple[str, tuple[str, ...]]:
    if not customer_id:
        return "", ()
    rows = _rows(engine, "SELECT name, admin_emails FROM customers WHERE id = :i", i=customer_id)
    if not rows:
        return customer_id, ()
    try:
        admins = tuple(str(x) for x in orjson.loads(rows[0]["admin_emails"] or "[]"))
    except orjson.JSONDecodeError:
        admins = ()
    return str(rows[0]["name"] or customer_id), admins


def subject_from_row(engine: Engine, kind: SubjectKind, row: dict[str, Any]) -> Subject:
    name, admins = _customer(engine, row.get("customer_id"))
    return Subject(kind, str(row["id"]), {**row, "_kind": kind}, name, admins)


def load_subject(engine: Engine, kind: SubjectKind, subject_id: str) -> Subject | None:
    """The cached row of one workspace or invite by id (None if not cached)."""
    table = "workspaces" if kind == "workspace" else "invites"
    rows = _rows(engine, f"SELECT * FROM {table} WHERE id = :i", i=subject_id)
    return subject_from_row(engine, kind, rows[0]) if rows else None


def _describe(row: dict[str, Any]) -> str:
    if "owner_email" in row:
        return f"{row['id']} ({one_line(row['name'], 40)}, {one_line(row['owner_email'], 60)}, " \
            f"{row['status']})"
    return f"{row['id']} ({one_line(row['email'], 60)}, {row['state']})"


def _one(candidates: list[dict[str, Any]], what: str, typed: str) -> dict[str, Any]:
    if len(candidates) == 1:
        return candidates[0]
    listed = "; ".join(_describe(r) for r in candidates[:MAX_CANDIDATES])
    extra = len(candidates) - MAX_CANDIDATES
    more = f" and {extra} more" if extra > 0 else ""
    raise TargetError(
        f"{one_line(typed, 80)!r} matches {len(candidates)} {what}: {listed}{more}; "
        "give the id instead"
    )


def resolve(engine: Engine, action: str, target: str) -> Subject:
    """The subject ``action`` would act on for the user-typed ``target``."""
    kind = ACTION_KIND.get(action)
    if kind is None:
        raise TargetError(f"unknown action {action!r}")
    typed = target.strip()
    if not typed:
        raise TargetError("the target is empty: give an id, a workspace name or an email")
    if kind == "invite":
        return subject_from_row(engine, kind, _resolve_invite(engine, typed))
    return subject_from_row(engine, kind, _resolve_workspace(engine, action, typed))


def _resolve_invite(engine: Engine, typed: str) -> dict[str, Any]:
    rows = _rows(engine, "SELECT * FROM invites WHERE id = :t", t=typed)
    if rows:
        return rows[0]
    rows = _rows(
        engine, "SELECT * FROM invites WHERE email = :t COLLATE NOCASE ORDER BY created_at DESC",
        t=typed,
    )
    if not rows:
        raise TargetError(
            f"no cached invite has the id or email {one_line(typed, 80)!r}: check it, or run "
            "`ism-tui sync` to refresh the cache"
        )
    open_rows = [r for r in rows if r["state"] in REISSUABLE and not r["replaced_by"]]
    return open_rows[0] if open_rows else rows[0]


def _resolve_workspace(engine: Engine, action: str, typed: str) -> dict[str, Any]:
    rows = _rows(engine, "SELECT * FROM workspaces WHERE id = :t", t=typed)
    if rows:
        return rows[0]
    if action == "cancel":
        rows = _rows(engine, "SELECT * FROM workspaces WHERE build_id = :t", t=typed)
        if rows:
            return rows[0]
    rows = _rows(engine, "SELECT * FROM workspaces WHERE name = :t ORDER BY id", t=typed)
    if rows:
        live = [r for r in rows if r["status"] != "deleted"] or rows
        return _one(live, "workspaces", typed)
    if "@" in typed:
        rows = _rows(
            engine,
            "SELECT * FROM workspaces WHERE owner_email = :t COLLATE NOCASE "
            "AND status != 'deleted' ORDER BY id",
            t=typed,
        )
        if rows:
            return _one(rows, "workspaces owned by that email", typed)
    what = "workspace id, build id, name or owner email" if action == "cancel" else \
        "workspace id, name or owner email"
    raise TargetError(
        f"no cached workspace matches {one_line(typed, 80)!r} (tried {what}): check it, or run "
        "`ism-tui sync` to refresh the cache"
    )

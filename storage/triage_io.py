"""What the triage rules read from the cache, and where their blockers are stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import orjson

from storage.db import Cache, reading
from storage.dbapi import RowDict, dict_rows, scanning

if TYPE_CHECKING:
    from sqlalchemy import Engine

TAIL_LINES = 8


def _text(sql: str) -> Any:
    """SQLAlchemy's ``text``, imported when first needed (not by the console's first paint)."""
    from sqlalchemy import text

    return text(sql)


@dataclass
class Snapshot:
    """The cached state the rules need (only the rows that can hold a blocker)."""

    customers: dict[str, RowDict] = field(default_factory=dict)
    users: list[RowDict] = field(default_factory=list)
    invites: list[RowDict] = field(default_factory=list)
    workspaces: list[RowDict] = field(default_factory=list)
    build_log_tails: dict[str, list[RowDict]] = field(default_factory=dict)
    analytics_views: list[RowDict] = field(default_factory=list)
    analytics_denied: list[RowDict] = field(default_factory=list)
    # Diagnose empty-analytics views of these customers only (None: every customer).
    analytics_customers: set[str] | None = None
    # Create readiness: targets by id, template aliases by alias, per customer the unusable
    # aliases its workspaces use, and whose readiness to re-check (None: every customer).
    targets: dict[str, RowDict] = field(default_factory=dict)
    aliases: dict[str, RowDict] = field(default_factory=dict)
    aliases_in_use: dict[str, set[str]] = field(default_factory=dict)
    readiness_customers: set[str] | None = None


@dataclass
class Scope:
    """What changed since blockers were last computed: subjects by id, customers whose
    every subject must be re-checked, and whether analytics inputs changed."""

    users: set[str] = field(default_factory=set)
    invites: set[str] = field(default_factory=set)
    workspaces: set[str] = field(default_factory=set)
    customers: set[str] = field(default_factory=set)
    analytics: bool = False
    analytics_customers: set[str] | None = None  # None: every customer's analytics
    audit: bool = False  # audit events changed: re-check members refused Analytics

    @property
    def empty(self) -> bool:
        return not (self.users or self.invites or self.workspaces or self.customers
                    or self.analytics or self.audit)

    def params(self) -> dict[str, Any]:
        out = {k: orjson.dumps(sorted(getattr(self, k))).decode()
               for k in ("users", "invites", "workspaces", "customers")}
        out["analytics_customers"] = orjson.dumps(sorted(self.analytics_customers or ())).decode()
        return out

    def readiness_filter(self, column: str) -> str:
        """SQL condition: ``column`` is a customer whose create readiness may have moved (it
        changed, or one of its workspaces did: the aliases it uses)."""
        return (f"({column} IN (SELECT value FROM json_each(:customers)) OR {column} IN "
                "(SELECT customer_id FROM workspaces "
                "WHERE id IN (SELECT value FROM json_each(:workspaces))))")

    def subject_filter(self, kind: str, id_col: str = "id",
                       customer_col: str = "customer_id") -> str:
        """SQL condition: the row is a subject of ``kind`` in scope (``:users`` etc. params)."""
        return (f"({id_col} IN (SELECT value FROM json_each(:{kind}s)) OR "
                f"{customer_col} IN (SELECT value FROM json_each(:customers)))")


def _rows(db: sqlite3.Connection, sql: str, json_cols: Iterable[str] = (),
          params: dict[str, Any] | None = None) -> list[RowDict]:
    """Rows as dicts, JSON columns decoded. Straight from the DBAPI in one ``fetchall``:
    SQLAlchemy's row-by-row fetch was a large part of a big recompute."""
    out = dict_rows(db.execute(sql, params or {}))
    for col in json_cols:
        for row in out:
            row[col] = orjson.loads(row[col] or "[]")
    return out


# navigation without an admin item, compared case-insensitively (rules.lacking_admin_items)
_LACKS_ADMIN_ITEMS = " OR ".join(
    f"NOT EXISTS (SELECT 1 FROM json_each(visible_navigation) WHERE lower(value) = '{item}')"
    for item in ("account setup", "analytics"))
_DENIED_ACTORS = ("SELECT actor_user_id FROM audit_events WHERE action = 'analytics.view' "
                  "AND result = 'denied'")


def read_snapshot(engine: Engine | Cache, scope: Scope | None = None) -> Snapshot:
    """The rows that can hold a blocker; with ``scope``, only those of the changed subjects
    (and no analytics views unless analytics inputs changed)."""
    snap = Snapshot()
    params = scope.params() if scope else {}

    def scoped(kind: str, extra: str = "") -> str:
        if scope is None:
            return ""
        return f" AND ({scope.subject_filter(kind)}{extra})"

    with reading(engine) as db, scanning(db) as conn:
        snap.customers = {r["id"]: r for r in _rows(
            conn, "SELECT * FROM customers", ("sso_missing_steps", "allowed_target_ids",
                                               "admin_emails"))}
        snap.targets = {r["id"]: r for r in _rows(conn, "SELECT * FROM targets")}
        snap.aliases = {r["alias"]: r for r in _rows(conn, "SELECT * FROM template_aliases")}
        if scope is not None:
            snap.readiness_customers = {r[0] for r in conn.execute(
                f"SELECT id FROM customers WHERE {scope.readiness_filter('id')}", params)}
        # only aliases that cannot be used: a scan of workspaces, no row per workspace back
        only = f" AND {scope.readiness_filter('customer_id')}" if scope is not None else ""
        for cid, alias in conn.execute(
                "SELECT DISTINCT customer_id, template_alias FROM workspaces "
                "WHERE status != 'deleted' AND template_alias NOT IN "
                "(SELECT alias FROM template_aliases WHERE state = 'available')" + only, params):
            snap.aliases_in_use.setdefault(cid, set()).add(alias)
        members_too = " OR role = 'customer_member'" if scope and scope.audit else ""
        snap.users = _rows(
            conn, "SELECT * FROM users WHERE ((idp_role IS NOT NULL AND idp_role != role) "
                  "OR provisioning_state = 'failed' OR role_updated_at > last_sign_in_at "
                  f"OR (role = 'customer_admin' AND ({_LACKS_ADMIN_ITEMS})) "
                  f"OR (role = 'customer_member' AND id IN ({_DENIED_ACTORS})))"
                  + scoped("user", members_too),
            ("visible_navigation",), params)
        snap.invites = _rows(
            conn, "SELECT * FROM invites WHERE state IN ('consumed', 'expired')"
                  + scoped("invite"), (), params)
        snap.workspaces = _rows(
            conn, "SELECT id, name, customer_id, owner_email, status, template_alias, "
                  "target_id, updated_at, created_at, build_id, build_number, build_transition, "
                  "build_job_status, build_error, build_failing_stage, build_started_at, "
                  "build_completed_at, apps, create_blockers FROM workspaces "
                  "WHERE (create_blockers != '[]' OR build_job_status = 'failed' "
                  "OR apps != '[]')" + scoped("workspace"),
            ("apps", "create_blockers"), params)
        failed = [w["build_id"] for w in snap.workspaces
                  if w["build_job_status"] == "failed" and w["build_id"]]
        for build_id in failed:
            lines = dict_rows(conn.execute(
                "SELECT id, stage, level, output FROM build_logs WHERE build_id=:b "
                "ORDER BY id DESC LIMIT :n", {"b": build_id, "n": TAIL_LINES}))
            snap.build_log_tails[build_id] = lines[::-1]
        snap.analytics_denied = _rows(
            conn, "SELECT * FROM audit_events "
                  "WHERE action = 'analytics.view' AND result = 'denied' "
                  "ORDER BY time")
        if scope is not None:
            if not scope.analytics:
                return snap
            snap.analytics_customers = scope.analytics_customers
        snap.analytics_views = _rows(
            conn, "SELECT * FROM audit_events WHERE action = 'analytics.view' AND result = 'empty' "
                  "ORDER BY time")
    return snap


_CUSTOMER_OF = {"workspaces": "workspaces", "usage": "usage", "usage_periods": "usage_periods"}


def customers_of(engine: Engine | Cache, changed: dict[str, set[str]]) -> set[str] | None:
    """The customers that rows with these ids (by resource) belong to; ``customers`` ids are
    customers. None when it cannot be known (a row is gone, or another resource)."""
    out: set[str] = set(changed.get("customers", ()))
    with reading(engine) as db:
        for resource, ids in changed.items():
            if resource == "customers" or not ids:
                continue
            table = _CUSTOMER_OF.get(resource)
            if table is None:
                return None
            rows = db.execute(
                f"SELECT customer_id FROM {table} "
                "WHERE id IN (SELECT value FROM json_each(:ids))",
                {"ids": orjson.dumps(sorted(ids)).decode()}).fetchall()
            if len(rows) < len(ids):  # deleted since: its customer is unknown
                return None
            out.update(r[0] for r in rows)
    return out


def replace_blockers(engine: Engine | Cache, rows: list[RowDict],
                     scope: Scope | None = None) -> None:
    """Swap the blockers (all, or those of ``scope``) in one transaction: readers see the
    old set or the new one."""
    with engine.begin() as conn:
        if scope is None:
            conn.exec_driver_sql("DELETE FROM blockers")
        else:
            members = ' OR "case" = \'member_analytics_expected\'' if scope.audit else ""
            analytics = ""
            if scope.analytics:
                analytics = ' OR ("case" = \'analytics_empty\''
                if scope.analytics_customers is not None:
                    analytics += (" AND customer_id IN "
                                  "(SELECT value FROM json_each(:analytics_customers))")
                analytics += ")"
            conn.execute(_text(
                "DELETE FROM blockers WHERE "
                "(subject_type = 'customer' AND \"case\" != 'analytics_empty' AND "
                f"{scope.readiness_filter('subject_id')}) OR "
                f"(subject_type = 'user' AND ({scope.subject_filter('user', 'subject_id')}"
                f"{members})) OR "
                f"(subject_type = 'invite' AND {scope.subject_filter('invite', 'subject_id')}) "
                f"OR (subject_type = 'workspace' AND "
                f"{scope.subject_filter('workspace', 'subject_id')}){analytics}"),
                scope.params())
        if rows:
            conn.execute(_text(
                "INSERT OR REPLACE INTO blockers (id, \"case\", severity, customer_id, "
                "subject_type, subject_id, summary, since, payload) VALUES (:id, :case, "
                ":severity, :customer_id, :subject_type, :subject_id, :summary, :since, "
                ":payload)"), rows)


def select_blockers(engine: Engine | Cache, where: str = "",
                    params: dict[str, Any] | None = None) -> list[str]:
    """Payload JSON of the matching blockers, most severe and oldest first."""
    sql = ("SELECT payload FROM blockers" + (f" WHERE {where}" if where else "")
           + " ORDER BY severity DESC, coalesce(since, '9999') ASC, id")
    with reading(engine) as db:
        return [str(r[0]) for r in db.execute(sql, params or {})]


def routing_facts(engine: Engine | Cache, customer_ids: Iterable[str],
                  subjects: Iterable[tuple[str, str]]) -> tuple[dict[str, list[str]],
                                                               dict[tuple[str, str], RowDict]]:
    """What routing a set of blockers needs: the admin emails of their customers, and the
    cached rows of their invite and workspace subjects (for the actions policy)."""
    wanted: dict[str, list[str]] = {"invite": [], "workspace": []}
    for kind, sid in subjects:
        if kind in wanted:
            wanted[kind].append(sid)
    admins: dict[str, list[str]] = {}
    rows: dict[tuple[str, str], RowDict] = {}
    with reading(engine) as db:
        ids = orjson.dumps(sorted(set(customer_ids))).decode()
        for cid, emails in db.execute(
                "SELECT id, admin_emails FROM customers "
                "WHERE id IN (SELECT value FROM json_each(:ids))", {"ids": ids}):
            admins[cid] = orjson.loads(emails or "[]")
        for kind, table in (("invite", "invites"), ("workspace", "workspaces")):
            if not wanted[kind]:
                continue
            found = _rows(db, f"SELECT * FROM {table} "
                              "WHERE id IN (SELECT value FROM json_each(:ids))",
                          ("create_blockers",) if kind == "workspace" else (),
                          {"ids": orjson.dumps(wanted[kind]).decode()})
            for row in found:
                row["_kind"] = kind
                rows[(kind, row["id"])] = row
    return admins, rows


def create_inputs(engine: Engine | Cache, workspace: RowDict
                  ) -> tuple[RowDict | None, RowDict | None, RowDict | None, RowDict | None]:
    """The cached customer, owner, template alias and target of a workspace: what its create
    readiness is read from."""
    def one(db: Any, sql: str, value: Any, json_cols: Iterable[str] = ()) -> RowDict | None:
        found = _rows(db, sql, json_cols, {"v": value})
        return found[0] if found else None

    with reading(engine) as db:
        return (one(db, "SELECT * FROM customers WHERE id = :v", workspace.get("customer_id"),
                    ("sso_missing_steps", "allowed_target_ids", "admin_emails")),
                one(db, "SELECT * FROM users WHERE id = :v", workspace.get("owner_user_id")),
                one(db, "SELECT * FROM template_aliases WHERE alias = :v",
                    workspace.get("template_alias")),
                one(db, "SELECT * FROM targets WHERE id = :v", workspace.get("target_id")))


def workspaces_of_build(engine: Engine | Cache, build_id: str) -> set[str]:
    """The workspaces whose latest build is ``build_id``."""
    with reading(engine) as db:
        return {str(r[0]) for r in db.execute(
            "SELECT id FROM workspaces WHERE build_id = :b", {"b": build_id})}


_FIND = {
    "user": ("users", "email = :t COLLATE NOCASE OR id = :t", ("visible_navigation",)),
    "workspace": ("workspaces", "name = :t OR id = :t", ("apps", "create_blockers")),
    "customer": ("customers", "id = :t OR name = :t COLLATE NOCASE",
                 ("sso_missing_steps", "allowed_target_ids", "admin_emails")),
}


def find_subjects(engine: Engine | Cache, kind: str, typed: str) -> list[RowDict]:
    """Users by email or id, workspaces by name or id, customers by id or name (every match:
    a workspace name may be taken in two customers)."""
    table, where, json_cols = _FIND[kind]
    with reading(engine) as db:
        return _rows(db, f"SELECT * FROM {table} WHERE {where} ORDER BY id LIMIT 20",
                     json_cols, {"t": typed.strip()})


def customer_row(engine: Engine | Cache, customer_id: str | None) -> RowDict | None:
    found = find_subjects(engine, "customer", customer_id) if customer_id else []
    return found[0] if found else None


def log_tail(engine: Engine | Cache, build_id: str | None) -> list[RowDict]:
    """The last cached build log lines of a build, oldest first."""
    if not build_id:
        return []
    with reading(engine) as db:
        lines = dict_rows(db.execute(
            "SELECT id, stage, level, output FROM build_logs WHERE build_id=:b "
            "ORDER BY id DESC LIMIT :n", {"b": build_id, "n": TAIL_LINES}))
    return lines[::-1]


def blocker_heads(engine: Engine | Cache, ids: list[str] | None = None) -> list[RowDict]:
    """What the triage trail keeps of each blocker (all, or these ids): id, case, severity,
    customer, subject, summary and since, without decoding the payloads."""
    where, params = "", {}
    if ids is not None:
        where, params = " WHERE b.id IN (SELECT value FROM json_each(:ids))", {
            "ids": orjson.dumps(ids).decode()}
    with reading(engine) as db:
        return dict_rows(db.execute(
            'SELECT b.id AS blocker_id, b."case" AS "case", b.severity, b.customer_id, '
            "c.name AS customer, b.subject_type || ' ' || b.subject_id AS subject, b.summary, "
            "b.since FROM blockers b LEFT JOIN customers c ON c.id = b.customer_id" + where,
            params))

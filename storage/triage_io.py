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
# The create blocker cases (``triage.playbook.CREATE_BLOCKER_CASES``), as an SQL list.
CREATE_CASES = ("'billing_approval_missing', 'prepaid_balance_missing', 'ai_credit_missing', "
                "'sso_incomplete', 'target_unavailable', 'template_alias_unavailable', "
                "'user_provisioning_failed'")
# The user whose failed provisioning a create blocker folds (``Blocker.folds``), or NULL: the
# user's flag stays when the Console's report stands for the user's own readiness blocker.
FOLDED_USER = ("(CASE WHEN \"case\" = 'user_provisioning_failed' AND subject_type = 'workspace' "
               "THEN substr(json_extract(payload, '$.folds'), "
               "length('user_provisioning_failed:') + 1) END)")


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
    # The customers whose create readiness is re-checked (``find_readiness``), once found.
    readiness: set[str] | None = None

    @property
    def empty(self) -> bool:
        return not (self.users or self.invites or self.workspaces or self.customers
                    or self.analytics or self.audit)

    def params(self) -> dict[str, Any]:
        out = {k: orjson.dumps(sorted(getattr(self, k))).decode()
               for k in ("users", "invites", "workspaces", "customers")}
        out["analytics_customers"] = orjson.dumps(sorted(self.analytics_customers or ())).decode()
        out["readiness"] = orjson.dumps(sorted(self.readiness or ())).decode()
        return out

    def find_readiness(self, db: sqlite3.Connection) -> set[str]:
        """The customers whose create readiness may have moved, or whose create blockers the
        Console reported fold readiness blockers differently: it changed, one of its
        workspaces did (the aliases it uses, its create blockers) or one of its users (their
        provisioning). Every customer when a workspace or user in scope is gone from the
        cache (deleted): whose it was is not known any more, and deletions are rare."""
        if self.readiness is None:
            self.readiness = {r[0] for r in db.execute(
                "SELECT id FROM customers WHERE id IN (SELECT value FROM json_each(:customers)) "
                "OR id IN (SELECT customer_id FROM workspaces "
                "WHERE id IN (SELECT value FROM json_each(:workspaces))) "
                "OR id IN (SELECT customer_id FROM users "
                "WHERE id IN (SELECT value FROM json_each(:users))) "
                "OR EXISTS (SELECT 1 FROM json_each(:workspaces) "
                "WHERE value NOT IN (SELECT id FROM workspaces)) "
                "OR EXISTS (SELECT 1 FROM json_each(:users) "
                "WHERE value NOT IN (SELECT id FROM users))", self.params())}
        return self.readiness

    def readiness_filter(self, column: str) -> str:
        """SQL condition: ``column`` is one of the customers of ``find_readiness`` (a list
        that is read once: an OR of its conditions would scan a customer's rows once each)."""
        return f"{column} IN (SELECT value FROM json_each(:readiness))"

    def user_filter(self, id_col: str = "id", customer_col: str = "customer_id") -> str:
        """SQL condition: a user in scope, or one whose provisioning failed of a customer whose
        readiness is re-checked (``readiness_filter``)."""
        return (f"({self.subject_filter('user', id_col, customer_col)} OR {id_col} IN "
                "(SELECT id FROM users WHERE provisioning_state = 'failed' AND "
                f"{self.readiness_filter('customer_id')}))")

    def workspace_filter(self, id_col: str = "id", customer_col: str = "customer_id") -> str:
        """SQL condition: a workspace in scope, or one with a Console-reported create blocker
        of a customer whose readiness is re-checked: that blocker may fold a readiness one.
        Those are found in the blockers table (no index finds them in workspaces), which
        holds every workspace out of scope as the last recompute found it."""
        return (f"({self.subject_filter('workspace', id_col, customer_col)} OR {id_col} IN "
                "(SELECT subject_id FROM blockers WHERE subject_type = 'workspace' AND "
                f"\"case\" IN ({CREATE_CASES}) AND {self.readiness_filter('customer_id')}))")

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

    def scoped(condition: str | None, extra: str = "") -> str:
        return "" if condition is None else f" AND ({condition}{extra})"

    with reading(engine) as db, scanning(db) as conn:
        snap.customers = {r["id"]: r for r in _rows(
            conn, "SELECT * FROM customers", ("sso_missing_steps", "allowed_target_ids",
                                               "admin_emails"))}
        snap.targets = {r["id"]: r for r in _rows(conn, "SELECT * FROM targets")}
        snap.aliases = {r["alias"]: r for r in _rows(conn, "SELECT * FROM template_aliases")}
        if scope is not None:
            snap.readiness_customers = scope.find_readiness(conn)
        params = scope.params() if scope else {}
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
                  + scoped(scope.user_filter() if scope else None, members_too),
            ("visible_navigation",), params)
        snap.invites = _rows(
            conn, "SELECT * FROM invites WHERE state IN ('consumed', 'expired')"
                  + scoped(scope.subject_filter("invite") if scope else None), (), params)
        snap.workspaces = _rows(
            conn, "SELECT id, name, customer_id, owner_user_id, owner_email, status, "
                  "template_alias, "
                  "target_id, updated_at, created_at, build_id, build_number, build_transition, "
                  "build_job_status, build_error, build_failing_stage, build_started_at, "
                  "build_completed_at, apps, create_blockers FROM workspaces "
                  "WHERE (create_blockers != '[]' OR build_job_status = 'failed' "
                  "OR apps != '[]')" + scoped(scope.workspace_filter() if scope else None),
            ("apps", "create_blockers"), params)
        failed = [w["build_id"] for w in snap.workspaces  # as ``rules._provisioning_failed``
                  if w["build_job_status"] == "failed" and w["build_id"]
                  and w["build_transition"] == "start" and w["build_started_at"]]
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
            raw = conn.connection.driver_connection
            assert raw is not None
            scope.find_readiness(raw)
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
                f"(subject_type = 'user' AND ({scope.user_filter('subject_id')}{members})) OR "
                f"(subject_type = 'invite' AND {scope.subject_filter('invite', 'subject_id')}) "
                f"OR (subject_type = 'workspace' AND "
                f"{scope.workspace_filter('subject_id')}){analytics}"),
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


def folded_ids(engine: Engine | Cache) -> set[str]:
    """The readiness blockers left out of the queue because a Console-reported create blocker
    stands for them (``Blocker.folds``): still there, on another line."""
    with reading(engine) as db:
        return {str(r[0]) for r in db.execute(
            "SELECT json_extract(payload, '$.folds') FROM blockers "
            f"WHERE subject_type = 'workspace' AND \"case\" IN ({CREATE_CASES}) "
            "AND json_extract(payload, '$.folds') IS NOT NULL")}

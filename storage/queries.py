"""Window queries for the console's tables, and detail reads for its panes.

Each ``Listing`` answers ``count(filter)`` and ``window(offset, limit, filter, sort, desc)`` with
parameterised SQL, so a screen reads only the rows it shows: cost stays flat as the cache grows.
Rows come back as dicts with the blocker cases of each row under ``_cases``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

from storage.db import Cache, reading
from storage.dbapi import RowDict, dict_rows
from storage.triage_io import CREATE_CASES, FOLDED_USER

if TYPE_CHECKING:
    from sqlalchemy import Engine

BLOCKED_WORD = "is:blocked"  # in a filter: only rows with a blocker
SPARSE_SHARE = 0.05  # a filter matching fewer rows than this share: scan and sort instead
# Rows restricted to (``IN`` or ``NOT IN``, these keys): what a filter word answered by another
# store selects (the Triage tab's ``is:working``, ``is:new``... from the triage trail).
Within = tuple[str, list[str]]


@dataclass(frozen=True)
class Listing:
    """One table: its select, filterable columns, sort expressions, and blocker subject type."""

    name: str
    select: str  # "SELECT ... FROM ... " without WHERE/ORDER
    filter_columns: tuple[str, ...]
    sorts: dict[str, str]  # sort key -> SQL expression
    default_sort: str
    subject_type: str | None = None
    base_where: str = ""
    key: str = "id"  # the tie-breaker column (qualified), so windows are stable
    count_from: str = ""  # "FROM table alias" for counts: no join, so a count scans one table
    customer_column: str = ""  # filter words also match the name of this column's customer
    cases_by: str = "subject_id"  # blockers column matched against the row ids
    # The leading column of the index a filtered count scans: a big table's count can be run
    # as two halves split on it, side by side (SQLite steps a query without the GIL).
    split_column: str = ""

    def _where(self, filter_text: str, within: Within | None = None
               ) -> tuple[str, dict[str, Any]]:
        clauses, params = [], {}
        if self.base_where:
            clauses.append(self.base_where)
        if within is not None:
            op, keys = within
            if op not in ("IN", "NOT IN"):
                raise ValueError(f"within must be IN or NOT IN, not {op!r}")
            params["within"] = orjson.dumps(keys).decode()
            clauses.append(f"{self.key} {op} (SELECT value FROM json_each(:within))")
        words = filter_text.split()
        if BLOCKED_WORD in words:
            words = [w for w in words if w != BLOCKED_WORD]
        if BLOCKED_WORD in filter_text.split() and self.subject_type:
            if self.cases_by == "customer_id":
                clauses.append(f"{self.key} IN (SELECT customer_id FROM blockers)")
            else:
                params["blocked_type"] = self.subject_type
                folded = (f" OR {self.key} IN (SELECT {FOLDED_USER} FROM blockers WHERE "
                          "\"case\" = 'user_provisioning_failed')"
                          if self.subject_type == "user" else "")
                clauses.append(f"({self.key} IN (SELECT subject_id FROM blockers "
                               f"WHERE subject_type = :blocked_type){folded})")
        for i, word in enumerate(words[:5]):
            like = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            params[f"f{i}"] = f"%{like}%"
            alternatives = [f"{c} LIKE :f{i} ESCAPE '\\'" for c in self.filter_columns]
            if self.customer_column:
                alternatives.append(f"{self.customer_column} IN (SELECT id FROM customers "
                                    f"WHERE name LIKE :f{i} ESCAPE '\\')")
            clauses.append("(" + " OR ".join(alternatives) + ")")
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def count(self, engine: Engine | Cache, filter_text: str = "",
              half: tuple[str, str] | None = None, at_most: int | None = None,
              within: Within | None = None) -> int:
        """Rows matching ``filter_text``; ``half`` = ("<" or ">=", pivot) counts only the rows
        whose ``split_column`` lies below or from ``pivot`` (see ``pivot``). ``at_most`` stops
        counting there (the answer is then ``at_most``): a filter matching much of a big table
        is counted in the time it takes to find that many rows, not to scan them all."""
        where, params = self._where(filter_text, within)
        if half is not None and self.split_column and self.count_from:
            op, params["pivot"] = half
            if op not in ("<", ">="):
                raise ValueError(f"half must be '<' or '>=', not {op!r}")
            where += f"{' AND' if where else ' WHERE'} {self.split_column} {op} :pivot"
        if at_most is not None:
            params["at_most"] = max(at_most, 0)
            inner = (f"SELECT 1 {self.count_from}{where}" if self.count_from
                     else f"{self.select}{where}")
            sql = f"SELECT count(*) FROM ({inner} LIMIT :at_most)"
        else:
            sql = (f"SELECT count(*) {self.count_from}{where}" if self.count_from
                   else f"SELECT count(*) FROM ({self.select}{where})")
        with reading(engine) as db:
            return int(db.execute(sql, params).fetchone()[0])

    def pivot(self, engine: Engine | Cache, total: int) -> str | None:
        """The median of ``split_column`` over ``total`` rows: halves of (nearly) equal size.
        Any value gives correct counts; a stale one only less even halves."""
        if not self.split_column or not self.count_from or total < 2:
            return None
        with reading(engine) as db:
            row = db.execute(f"SELECT {self.split_column} {self.count_from} ORDER BY "
                             f"{self.split_column} LIMIT 1 OFFSET :n", {"n": total // 2}
                             ).fetchone()
        return None if row is None or row[0] is None else str(row[0])

    def window(self, engine: Engine | Cache, offset: int, limit: int, filter_text: str = "",
               sort: str | None = None, descending: bool = False,
               sparse: bool = False, within: Within | None = None) -> list[RowDict]:
        """Rows ``offset``..``offset+limit-1``. ``sparse`` (the filter matches under ~5% of
        the rows) picks the plan: few matches are found faster by one scan and a sort than by
        walking the sort index past most rows."""
        where, params = self._where(filter_text, within)
        select = self.select
        if where and sparse and self.count_from:
            select = select.replace(self.count_from, f"{self.count_from} NOT INDEXED", 1)
        expr = self.sorts.get(sort or self.default_sort, self.sorts[self.default_sort])
        direction = "DESC" if descending else "ASC"
        sql = (f"{select}{where} ORDER BY {expr} {direction}, {self.key} {direction} "
               "LIMIT :limit OFFSET :offset")
        params.update(limit=max(limit, 0), offset=max(offset, 0))
        with reading(engine) as db:
            rows = dict_rows(db.execute(sql, params))
            if self.subject_type and rows:
                cases = _cases(db, self.subject_type, [r["id"] for r in rows],
                               self.cases_by)
                for r in rows:
                    r["_cases"] = cases.get(r["id"], [])
        return rows


def _cases(db: Any, subject_type: str, ids: list[str],
           by: str = "subject_id") -> dict[str, list[str]]:
    """Blocker cases per row id, worst first. Customers (``by="customer_id"``) collect the
    cases of everything they own, so a blocked create shows on its customer too."""
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    params: dict[str, Any] = {f"i{n}": v for n, v in enumerate(ids)}
    params["t"] = subject_type
    column = "customer_id" if by == "customer_id" else "subject_id"
    where = f"{column} IN ({marks})" if by == "customer_id" else \
        f"subject_type = :t AND {column} IN ({marks})"
    if subject_type == "user":  # and the create blockers that fold a user's own
        column = f"coalesce({FOLDED_USER}, subject_id)"
        where = (f"({where}) OR (\"case\" = 'user_provisioning_failed' "
                 f"AND {FOLDED_USER} IN ({marks}))")
    out: dict[str, list[str]] = {}
    for sid, case in db.execute(
            f'SELECT {column}, "case" FROM blockers WHERE {where} ORDER BY severity DESC',
            params):
        out.setdefault(sid, []).append(case)
    return out


WORKSPACES = Listing(
    "workspaces",
    "SELECT w.id, w.name, w.status, w.owner_email, w.customer_id, c.name AS customer, "
    "w.template_alias, w.target_id, w.build_job_status, w.build_transition, w.build_number, "
    "w.last_used_at, w.updated_at FROM workspaces w LEFT JOIN customers c ON c.id = w.customer_id",
    ("w.name", "w.owner_email", "w.status", "w.id"),
    {"name": "w.name", "status": "w.status", "customer": "c.name", "owner": "w.owner_email",
     "updated": "w.updated_at"},
    "name", "workspace", key="w.id", count_from="FROM workspaces w", split_column="w.name",
    customer_column="w.customer_id",
)
USERS = Listing(
    "users",
    "SELECT u.id, u.name, u.email, u.role, u.idp_role, u.customer_id, c.name AS customer, "
    "u.last_sign_in_at, u.provisioning_state FROM users u "
    "LEFT JOIN customers c ON c.id = u.customer_id",
    ("u.name", "u.email", "u.role", "u.id"),
    {"name": "u.name", "email": "u.email", "customer": "c.name", "role": "u.role",
     "sign_in": "u.last_sign_in_at"},
    "email", "user", key="u.id", count_from="FROM users u", customer_column="u.customer_id",
)
INVITES = Listing(
    "invites",
    "SELECT i.id, i.email, i.state, i.role, i.customer_id, c.name AS customer, i.expires_at, "
    "i.issued_by, i.created_at FROM invites i LEFT JOIN customers c ON c.id = i.customer_id",
    ("i.email", "i.state", "i.issued_by", "i.id"),
    {"email": "i.email", "state": "i.state", "customer": "c.name", "expires": "i.expires_at",
     "created": "i.created_at"},
    "email", "invite", key="i.id", count_from="FROM invites i",
    customer_column="i.customer_id",
)
CUSTOMERS = Listing(
    "customers",
    "SELECT c.id, c.name, c.billing_approval, c.prepaid_seconds_left, c.ai_credit_left, "
    "c.sso_state, (SELECT count(*) FROM blockers b WHERE b.customer_id = c.id) AS blockers, "
    # create readiness: the customer's and its users' create blockers, found before any create
    # (or folded into the one the Console reported on a create)
    "(SELECT group_concat(b.\"case\") FROM blockers b WHERE b.customer_id = c.id AND "
    f"b.\"case\" IN ({CREATE_CASES}) AND (b.subject_type IN ('customer', 'user') "
    "OR json_extract(b.payload, '$.folds') IS NOT NULL)) AS not_ready "
    "FROM customers c",
    ("c.name", "c.id", "c.domain"),
    {"name": "c.name", "billing": "c.billing_approval", "sso": "c.sso_state",
     "blockers": "blockers", "ready": "not_ready"},
    "name", "customer", key="c.id", cases_by="customer_id", count_from="FROM customers c",
)
BLOCKERS = Listing(
    "blockers",
    'SELECT b.id, b."case" AS "case", b.severity, b.customer_id, c.name AS customer, '
    "b.subject_type, b.subject_id, b.summary, b.since FROM blockers b "
    "LEFT JOIN customers c ON c.id = b.customer_id",
    ('b."case"', "b.summary", "b.subject_id"),
    {"severity": "b.severity DESC, coalesce(b.since, '9999') ASC, c.name",
     "customer": "c.name", "case": 'b."case"', "since": "b.since"},
    "severity", key="b.id", count_from="FROM blockers b", customer_column="b.customer_id",
)
TEMPLATES = Listing(
    "templates",
    "SELECT t.id, t.alias, t.template_name, t.template_version, t.state, t.state_since, "
    "t.state_reason FROM template_aliases t",
    ("t.alias", "t.template_name", "t.template_version", "t.state"),
    {"alias": "t.alias", "state": "t.state", "template": "t.template_name"},
    "alias", key="t.id", count_from="FROM template_aliases t",
)


# ---------------------------------------------------------------------------- detail reads

_JSON_COLUMNS = {"sso_missing_steps", "allowed_target_ids", "admin_emails", "visible_navigation",
                 "apps", "create_blockers"}


def _one(engine: Engine | Cache, sql: str, **params: Any) -> RowDict | None:
    with reading(engine) as db:
        found = dict_rows(db.execute(sql, params))
    if not found:
        return None
    out = found[0]
    for key in _JSON_COLUMNS & out.keys():
        out[key] = orjson.loads(out[key] or "[]")
    return out


def customer_detail(engine: Engine | Cache, customer_id: str) -> RowDict | None:
    row = _one(engine, "SELECT * FROM customers WHERE id = :i", i=customer_id)
    if row is None:
        return None
    with reading(engine) as db:
        row["members"] = db.execute(
            "SELECT count(*) FROM users WHERE customer_id = :i", {"i": customer_id}
        ).fetchone()[0]
        row["workspaces"] = db.execute(
            "SELECT count(*) FROM workspaces WHERE customer_id = :i", {"i": customer_id}
        ).fetchone()[0]
        row["targets"] = [r for r in dict_rows(db.execute(
            "SELECT id, name, state FROM targets ORDER BY id"))
            if r["id"] in row["allowed_target_ids"]]
    return row


def user_detail(engine: Engine | Cache, user_id: str) -> RowDict | None:
    return _one(engine, "SELECT u.*, c.name AS customer FROM users u LEFT JOIN customers c "
                        "ON c.id = u.customer_id WHERE u.id = :i", i=user_id)


def invite_detail(engine: Engine | Cache, invite_id: str) -> RowDict | None:
    return _one(engine, "SELECT i.*, c.name AS customer FROM invites i LEFT JOIN customers c "
                        "ON c.id = i.customer_id WHERE i.id = :i", i=invite_id)


def workspace_detail(engine: Engine | Cache, workspace_id: str) -> RowDict | None:
    return _one(engine, "SELECT w.*, c.name AS customer, t.name AS target_name, t.state AS "
                        "target_state FROM workspaces w LEFT JOIN customers c ON c.id = "
                        "w.customer_id LEFT JOIN targets t ON t.id = w.target_id "
                        "WHERE w.id = :i", i=workspace_id)


def search_subjects(engine: Engine | Cache, words: str, limit: int = 20) -> list[RowDict]:
    """Customers, users and workspaces whose name, email or id contains ``words``."""
    like = f"%{words.strip()}%"
    sql = ("SELECT 'customer' AS kind, id, name AS label, '' AS extra FROM customers "
           "WHERE name LIKE :q OR id LIKE :q "
           "UNION ALL SELECT 'user', id, email, name FROM users WHERE email LIKE :q OR name "
           "LIKE :q OR id LIKE :q "
           "UNION ALL SELECT 'workspace', id, name, owner_email FROM workspaces WHERE name LIKE "
           ":q OR id LIKE :q LIMIT :n")
    with reading(engine) as db:
        return dict_rows(db.execute(sql, {"q": like, "n": limit}))


def template_detail(engine: Engine | Cache, template_id: str) -> RowDict | None:
    """A template alias and how many live workspaces (of how many customers) use it."""
    row = _one(engine, "SELECT * FROM template_aliases WHERE id = :i", i=template_id)
    if row is None:
        return None
    with reading(engine) as db:
        used = db.execute(
            "SELECT count(*), count(DISTINCT customer_id) FROM workspaces "
            "WHERE template_alias = :a AND status != 'deleted'", {"a": row["alias"]}).fetchone()
    row["workspaces"], row["customers"] = used[0], used[1]
    return row

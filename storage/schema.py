"""The cache's tables (SQLModel), flattened from the wire models so every list, filter and sort
the screens need has a column and an index.

Conventions, chosen for bulk-load speed and stable ordering:
- Timestamps are ISO 8601 UTC text (``2026-11-24T09:14:00.000000Z``), which sorts correctly and
  needs no conversion on the hot path. ``storage.rows.iso`` makes them.
- Lists (navigation items, apps, blockers...) are JSON text.
- Bulk writes go through SQLAlchemy Core / the DBAPI ``executemany`` (``storage.upsert``); the
  ORM classes here are for schema, typed reads and small writes.

Bump ``SCHEMA_VERSION`` (``storage/version.py``) on any change here: the cache is rebuilt
(it is only a cache).
"""

from __future__ import annotations

from sqlalchemy import Index, text
from sqlmodel import Field, SQLModel

from storage.version import SCHEMA_VERSION as SCHEMA_VERSION


class Meta(SQLModel, table=True):
    __tablename__ = "meta"
    key: str = Field(primary_key=True)
    value: str = ""


class SyncState(SQLModel, table=True):
    """One row per resource: how fresh it is and where an interrupted sync resumes."""

    __tablename__ = "sync_state"
    resource: str = Field(primary_key=True)
    last_success_at: str | None = None
    last_attempt_at: str | None = None
    cursor: str | None = Field(default=None, description="updated_since high-water mark")
    resume_after_id: str | None = Field(default=None, description="full sync resume point")
    full_sync_id: str | None = None
    last_error: str | None = None
    row_count: int = 0


class CustomerRow(SQLModel, table=True):
    __tablename__ = "customers"
    id: str = Field(primary_key=True)
    name: str = Field(default="", index=True)
    domain: str = ""
    created_at: str | None = None
    updated_at: str = ""
    billing_approval: str | None = Field(default=None, index=True)
    billing_approval_updated_at: str | None = None
    prepaid_seconds_left: int | None = None
    prepaid_updated_at: str | None = None
    ai_credit_left: float | None = None
    ai_credit_updated_at: str | None = None
    sso_state: str | None = Field(default=None, index=True)
    sso_missing_steps: str = "[]"
    sso_updated_at: str | None = None
    allowed_target_ids: str = "[]"
    admin_emails: str = "[]"
    sync_gen: str | None = None


class UserRow(SQLModel, table=True):
    __tablename__ = "users"
    # (customer, email) serves the customer filter too: no index on customer_id alone
    __table_args__ = (Index("ix_users_customer_email", "customer_id", "email"),)
    id: str = Field(primary_key=True)
    email: str = Field(default="", index=True)
    name: str = ""
    customer_id: str | None = None
    role: str = Field(default="customer_member", index=True)
    idp_role: str | None = None
    role_updated_at: str | None = None
    last_sign_in_at: str | None = None
    visible_navigation: str = "[]"
    provisioning_state: str | None = Field(default=None, index=True)
    provisioning_reason: str | None = None
    provisioning_updated_at: str | None = None
    created_at: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


class InviteRow(SQLModel, table=True):
    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_customer_state", "customer_id", "state"),)
    id: str = Field(primary_key=True)
    email: str = Field(default="", index=True)
    customer_id: str = ""
    role: str = "customer_member"
    state: str = Field(default="pending", index=True)
    created_at: str | None = None
    expires_at: str | None = Field(default=None, index=True)
    issued_by: str = ""
    accepted_at: str | None = None
    consumed_at: str | None = None
    replaced_by: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


class TargetRow(SQLModel, table=True):
    __tablename__ = "targets"
    id: str = Field(primary_key=True)
    name: str = ""
    region: str = ""
    state: str = Field(default="available", index=True)
    state_reason: str | None = None
    state_since: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


class TemplateAliasRow(SQLModel, table=True):
    __tablename__ = "template_aliases"
    id: str = Field(primary_key=True)
    alias: str = Field(default="", index=True)
    template_name: str = ""
    template_version: str = ""
    state: str = Field(default="available", index=True)
    state_reason: str | None = None
    state_since: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


class WorkspaceRow(SQLModel, table=True):
    __tablename__ = "workspaces"
    __table_args__ = (
        # template_alias too: the create-readiness scan of the aliases each customer uses
        # reads this index only (an incremental sync's recompute: 41 -> 22 ms at 100k)
        Index("ix_workspaces_customer_status_alias", "customer_id", "status", "template_alias"),
        Index("ix_workspaces_updated", "updated_at"),
        # Sorted by name AND covering every filtered column: a filter keystroke scans this
        # index only, and the first window in name order needs no table scan.
        Index("ix_workspaces_name_search", "name", "owner_email", "status", "customer_id", "id"),
    )
    id: str = Field(primary_key=True)
    name: str = ""
    # No query looks workspaces up by owner id or target: no index (each would cost time in a
    # first sync's index rebuild, and upkeep on every write)
    owner_user_id: str = ""
    owner_email: str = Field(default="", index=True)
    customer_id: str = ""
    template_alias: str = ""
    target_id: str = ""
    status: str = Field(default="pending", index=True)
    created_at: str | None = None
    last_used_at: str | None = None
    updated_at: str = ""
    build_id: str | None = Field(default=None, index=True)
    build_number: int | None = None
    build_transition: str | None = None
    build_job_status: str | None = None
    build_error: str | None = None
    build_failing_stage: str | None = None
    build_created_at: str | None = None
    build_started_at: str | None = None
    build_completed_at: str | None = None
    build_initiator_email: str | None = None
    apps: str = "[]"
    create_blockers: str = "[]"
    sync_gen: str | None = None


class BuildLogRow(SQLModel, table=True):
    __tablename__ = "build_logs"
    build_id: str = Field(primary_key=True)
    id: int = Field(primary_key=True)
    created_at: str = ""
    stage: str = ""
    level: str = "info"
    output: str = ""


class UsageRowTable(SQLModel, table=True):
    __tablename__ = "usage"
    __table_args__ = (
        # the only reads of usage are the roll-ups', a day at a time (storage.usage_rollups);
        # a day's rows come in customer order, so its totals need no sort (every refresh is
        # faster; a first sync builds the index in a little more time)
        Index("ix_usage_day", "day", "customer_id"),
    )
    id: str = Field(primary_key=True)
    day: str = ""
    customer_id: str = ""
    workspace_id: str = ""
    user_id: str = ""
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0
    updated_at: str = ""
    sync_gen: str | None = None


class UsagePeriodRow(SQLModel, table=True):
    __tablename__ = "usage_periods"
    __table_args__ = (
        Index("ix_usage_periods_customer_day", "customer_id", "day"),
        # covering: per-day reconciliation across all customers without table lookups
        Index("ix_usage_periods_day_state", "day", "reconciliation", "provider_data_through"),
    )
    id: str = Field(primary_key=True)
    day: str = ""
    customer_id: str = ""
    reconciliation: str = Field(default="pending", index=True)
    provider_data_through: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


# Usage roll-ups: derived from ``usage`` by ``storage.usage_rollups.refresh_usage_daily`` so
# analytics over 1M usage rows stays within its target (bench/README.md). Triggers on
# ``usage`` (created by that module) record which days changed in ``usage_dirty_days``; a
# refresh recomputes only those, the totals (``usage_daily``) apart from the ranking roll-ups
# (``usage_pair_*``).


class UsageDailyRow(SQLModel, table=True):
    """Usage summed per customer and UTC day: totals and per-day series read only this."""

    __tablename__ = "usage_daily"
    __table_args__ = (
        # covering: the all-customers per-day series reads only this index
        Index("ix_usage_daily_day", "day", "workspace_seconds", "ai_credits_used", "cost_usd",
              "rows"),
        {"sqlite_with_rowid": False},
    )
    customer_id: str = Field(primary_key=True)
    day: str = Field(primary_key=True)
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0
    rows: int = 0


class UsagePairRow(SQLModel, table=True):
    """A (workspace, user, customer) with usage, numbered: the ranking roll-ups below key on
    this small integer instead of two text ids (smaller rows, cheaper grouping)."""

    __tablename__ = "usage_pairs"
    __table_args__ = (
        Index("ux_usage_pairs_key", "workspace_id", "user_id", "customer_id", unique=True),
        # a ranking groups its pairs by user in this order, with no sort
        Index("ix_usage_pairs_user", "user_id", "workspace_id", "customer_id"),
    )
    id: int | None = Field(default=None, primary_key=True)
    workspace_id: str = ""
    user_id: str = ""
    customer_id: str = ""


class UsagePairDayRow(SQLModel, table=True):
    """Usage summed per UTC day, customer and pair: a day's slice (all customers, or one) is
    contiguous, so the edges of a ranking's period cost a range scan, not index lookups."""

    __tablename__ = "usage_pair_days"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: str = Field(primary_key=True)
    customer_id: str = Field(primary_key=True)
    pair: int = Field(primary_key=True)
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0
    rows: int = 0


class UsagePairWeekRow(SQLModel, table=True):
    """Running totals per pair from the first cached week through the Sunday of ``week`` (its
    Monday), one slice per week with every pair seen so far. Any period's sums per pair are
    then one slice minus another, plus or minus at most three days at each end."""

    __tablename__ = "usage_pair_weeks"
    __table_args__ = ({"sqlite_with_rowid": False},)
    week: str = Field(primary_key=True)
    customer_id: str = Field(primary_key=True)
    pair: int = Field(primary_key=True)
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0
    rows: int = 0


class UsageDirtyDayRow(SQLModel, table=True):
    """Days whose ``usage`` rows changed since the ranking roll-ups were last refreshed;
    ``daily_current``: the day's ``usage_daily`` totals are already summed again."""

    __tablename__ = "usage_dirty_days"
    __table_args__ = ({"sqlite_with_rowid": False},)
    day: str = Field(primary_key=True)
    # the triggers insert the day alone: the default is the database's
    daily_current: bool = Field(default=False, sa_column_kwargs={"server_default": text("0")})


class UsageRankCacheRow(SQLModel, table=True):
    """Rankings (top workspaces and users) already computed for a scope and period, valid while
    ``version`` equals the roll-ups' version in ``meta['usage_version']``."""

    __tablename__ = "usage_rank_cache"
    scope: str = Field(primary_key=True)  # a customer id, or "" for all customers
    start: str = Field(primary_key=True)
    end: str = Field(primary_key=True)
    metric: str = Field(primary_key=True)
    version: int = 0
    payload: str = "{}"


class AuditEventRow(SQLModel, table=True):
    """The Console's own audit log, as synced."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_time", "action", "time"),)
    id: str = Field(primary_key=True)
    time: str = Field(default="", index=True)
    actor_user_id: str | None = Field(default=None, index=True)
    actor_email: str = ""
    customer_id: str | None = Field(default=None, index=True)
    action: str = ""
    target_type: str = ""
    target_id: str = ""
    result: str = "ok"
    detail: str = ""
    request_id: str | None = None
    updated_at: str = ""
    sync_gen: str | None = None


class LocalAuditRow(SQLModel, table=True):
    """Every action attempt made through ism-tui (allowed, refused, confirmed, cancelled,
    succeeded, failed). Written locally; never holds a token or an invite link."""

    __tablename__ = "local_audit"
    seq: int | None = Field(default=None, primary_key=True)
    time: str = Field(default="", index=True)
    profile: str = ""
    actor: str = ""
    actor_role: str = ""
    action: str = Field(default="", index=True)
    target_type: str = ""
    target_id: str = Field(default="", index=True)
    target_name: str = ""
    customer_id: str | None = None
    result: str = ""
    reason: str = ""
    request_id: str | None = None
    idempotency_key: str | None = None


class BlockerRow(SQLModel, table=True):
    """Triage output, recomputed after each sync so tables can flag rows with one join."""

    __tablename__ = "blockers"
    __table_args__ = (
        Index("ix_blockers_subject", "subject_type", "subject_id"),
        Index("ix_blockers_customer", "customer_id"),
    )
    id: str = Field(primary_key=True)
    case: str = Field(default="", index=True)
    severity: int = 0
    customer_id: str | None = None
    subject_type: str = ""
    subject_id: str = ""
    summary: str = ""
    since: str | None = None
    payload: str = "{}"


# Resource name (as in ``ism_tui.api.models.LIST_RESOURCES``) -> table.
RESOURCE_TABLES: dict[str, type[SQLModel]] = {
    "customers": CustomerRow,
    "users": UserRow,
    "invites": InviteRow,
    "targets": TargetRow,
    "templates": TemplateAliasRow,
    "workspaces": WorkspaceRow,
    "usage": UsageRowTable,
    "usage_periods": UsagePeriodRow,
    "audit": AuditEventRow,
}

"""Wire models: the schemas of the Console API contract (``ism_tui/api/openapi.yaml``).

Every model accepts unknown fields (``extra="ignore"``) so a newer Console that adds fields
never breaks the client. Enumerations in responses are open (``Open``): the ``Literal`` lists
the values the contract knows, and any other text is kept as it came (a newer Console's new
workspace status), shown with a ``?`` and never a blocker or an allowed action by itself.

These models are the single source of the OpenAPI component schemas: ``ism-tui sim
--write-openapi`` regenerates the paths file's schemas from them and a test keeps the two equal.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Generic, Literal, TypeVar, Union

from pydantic import BaseModel, ConfigDict, Field

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES as ACTIVE_JOB_STATUSES
from ism_tui.api.job_status import JobStatus

K = TypeVar("K")
# A value the contract lists, or text a newer Console added (kept as is). A request's
# enumerations (``TransitionRequest``) stay closed: this client sends only what it knows.
Open = Union[K, str]  # noqa: UP007  # a generic alias: ``Open[Role]``

Role = Literal["platform_operator", "customer_admin", "customer_member"]
BillingApproval = Literal["approved", "pending", "missing"]
SsoState = Literal["complete", "incomplete", "none"]
ProvisioningState = Literal["ok", "pending", "failed"]
InviteState = Literal["pending", "accepted", "consumed", "expired", "revoked"]
TargetState = Literal["available", "degraded", "unavailable"]
AliasState = Literal["available", "unavailable", "deprecated"]
Transition = Literal["start", "stop", "delete"]
WorkspaceStatus = Literal[
    "pending",
    "starting",
    "running",
    "stopping",
    "stopped",
    "failed",
    "canceling",
    "canceled",
    "deleting",
    "deleted",
]
CreateBlockerCode = Literal[
    "billing_approval_missing",
    "prepaid_balance_missing",
    "ai_credit_missing",
    "target_unavailable",
    "sso_incomplete",
    "template_alias_unavailable",
    "user_provisioning_failed",
]
Reconciliation = Literal["pending", "reconciled", "delayed", "failed"]
LogLevel = Literal["trace", "debug", "info", "warn", "error"]
AuditResult = Literal["ok", "denied", "failed", "empty"]

CREATE_BLOCKER_CODES: tuple[CreateBlockerCode, ...] = (
    "billing_approval_missing",
    "prepaid_balance_missing",
    "ai_credit_missing",
    "target_unavailable",
    "sso_incomplete",
    "template_alias_unavailable",
    "user_provisioning_failed",
)


class Wire(BaseModel):
    """Base of every wire model: tolerant of unknown fields, strict on known ones."""

    model_config = ConfigDict(extra="ignore", frozen=False)


class Resource(Wire):
    """A listable object: stable id, change time, and a tombstone flag."""

    id: str
    updated_at: datetime
    deleted: bool = Field(
        default=False,
        description="Tombstone: the object was deleted; only id and updated_at are meaningful.",
    )


# --------------------------------------------------------------------------- identity


class Me(Wire):
    user_id: str
    email: str
    name: str
    role: Open[Role]
    customer_id: str | None = Field(
        default=None, description="Customer scope; null for platform operators (all customers)."
    )
    customer_name: str | None = None


# --------------------------------------------------------------------------- customers


class Billing(Wire):
    approval: Open[BillingApproval]
    approval_updated_at: datetime | None = None
    prepaid_seconds_left: int = Field(description="Prepaid workspace-time balance, in seconds.")
    prepaid_updated_at: datetime | None = None
    ai_credit_left: float = Field(description="Managed-AI credit left, in credits.")
    ai_credit_updated_at: datetime | None = None


class Sso(Wire):
    state: Open[SsoState]
    missing_steps: list[str] = Field(default_factory=list)
    updated_at: datetime | None = None


class Customer(Resource):
    name: str = ""
    domain: str = ""
    created_at: datetime | None = None
    billing: Billing | None = None
    sso: Sso | None = None
    allowed_target_ids: list[str] = Field(default_factory=list)
    admin_emails: list[str] = Field(
        default_factory=list, description="Customer admins, to route member escalations."
    )


# --------------------------------------------------------------------------- users


class Provisioning(Wire):
    state: Open[ProvisioningState]
    reason: str | None = None
    updated_at: datetime | None = None


class User(Resource):
    """A user and their membership of one customer (a user belongs to exactly one customer)."""

    email: str = ""
    name: str = ""
    customer_id: str | None = Field(default=None, description="Null for platform operators.")
    role: Open[Role] = "customer_member"
    idp_role: Open[Role] | None = Field(
        default=None,
        description="Role the identity provider's group mapping claims for this user. A "
        "different value from `role` means the role is not mapped in Console.",
    )
    role_updated_at: datetime | None = Field(
        default=None,
        description="When the user's role (its mapping in Console) last changed. Later than "
        "`last_sign_in_at`: the user still sees the old role's navigation until they sign out "
        "and back in.",
    )
    last_sign_in_at: datetime | None = None
    visible_navigation: list[str] = Field(
        default_factory=list, description="Navigation items Console showed at the last sign-in."
    )
    provisioning: Provisioning | None = None
    created_at: datetime | None = None


# --------------------------------------------------------------------------- invites


class Invite(Resource):
    """An invite. The invite link and token are never part of any response."""

    email: str = ""
    customer_id: str = ""
    role: Open[Role] = "customer_member"
    state: Open[InviteState] = "pending"
    created_at: datetime | None = None
    expires_at: datetime | None = None
    issued_by: str = Field(default="", description="Email of who issued it.")
    accepted_at: datetime | None = None
    consumed_at: datetime | None = Field(
        default=None, description="When the single-use link was used up (then access denied)."
    )
    replaced_by: str | None = Field(default=None, description="Invite id that replaced it.")


# --------------------------------------------------------------------------- targets, templates


class Target(Resource):
    name: str = ""
    region: str = ""
    state: Open[TargetState] = "available"
    state_reason: str | None = None
    state_since: datetime | None = None


class TemplateAlias(Resource):
    """A template alias: the name users pick, pointing at a template version."""

    alias: str = ""
    template_name: str = ""
    template_version: str = ""
    state: Open[AliasState] = "available"
    state_reason: str | None = None
    state_since: datetime | None = None


# --------------------------------------------------------------------------- workspaces


class Build(Wire):
    id: str
    workspace_id: str
    build_number: int
    transition: Open[Transition]
    job_status: Open[JobStatus]
    error: str | None = None
    failing_stage: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    completed_at: datetime | None = None
    initiator_email: str | None = None


class App(Wire):
    slug: str
    display_name: str = ""
    launch_action: str = Field(description="What the launch button does, e.g. 'Open in browser'.")
    url: str


class CreateBlocker(Wire):
    code: Open[CreateBlockerCode]
    message: str = ""
    since: datetime | None = None


class Workspace(Resource):
    name: str = ""
    owner_user_id: str = ""
    owner_email: str = ""
    customer_id: str = ""
    template_alias: str = ""
    target_id: str = ""
    status: Open[WorkspaceStatus] = "pending"
    created_at: datetime | None = None
    last_used_at: datetime | None = None
    latest_build: Build | None = None
    apps: list[App] = Field(default_factory=list)
    create_blockers: list[CreateBlocker] = Field(
        default_factory=list, description="Blockers Console reports for creating this workspace."
    )


class BuildLog(Wire):
    id: int
    build_id: str
    created_at: datetime
    stage: str
    level: Open[LogLevel] = "info"
    output: str


# --------------------------------------------------------------------------- usage, audit


class UsageRow(Resource):
    """Usage of one workspace on one day."""

    day: date
    customer_id: str
    workspace_id: str
    user_id: str
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0


class UsagePeriod(Resource):
    """Reconciliation of one customer's usage for one day."""

    day: date
    customer_id: str
    reconciliation: Open[Reconciliation]
    provider_data_through: datetime | None = Field(
        default=None, description="Provider billing data is complete up to this instant."
    )


class AuditEvent(Resource):
    time: datetime
    actor_user_id: str | None = None
    actor_email: str = ""
    customer_id: str | None = None
    action: str = Field(description="e.g. workspace.retry, invite.reissue, analytics.view")
    target_type: str = ""
    target_id: str = ""
    result: Open[AuditResult] = "ok"
    detail: str = ""
    request_id: str | None = None


# --------------------------------------------------------------------------- envelopes

T = TypeVar("T")


class Page(Wire, Generic[T]):
    """One keyset page: pass ``next_after_id`` back as ``after_id``; null means the end."""

    items: list[T]
    next_after_id: str | None = None


class Validation(Wire):
    field: str
    detail: str


class Error(Wire):
    """The one error shape of every non-2xx response."""

    message: str
    detail: str = ""
    validations: list[Validation] = Field(default_factory=list)


class TransitionRequest(Wire):
    transition: Transition


class ActionResult(Wire):
    """What an action POST returns: the resulting build or invite, and a request id."""

    request_id: str
    build: Build | None = None
    invite: Invite | None = None
    workspace: Workspace | None = None


# The list resources the cache mirrors, by URL path segment.
LIST_RESOURCES: dict[str, type[Resource]] = {
    "customers": Customer,
    "users": User,
    "invites": Invite,
    "targets": Target,
    "templates": TemplateAlias,
    "workspaces": Workspace,
    "usage": UsageRow,
    "usage_periods": UsagePeriod,
    "audit": AuditEvent,
}

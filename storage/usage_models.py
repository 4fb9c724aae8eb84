"""What analytics queries return (``storage.usage_queries``): plain frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

Metric = Literal["hours", "credits", "cost"]


@dataclass(frozen=True)
class UsageAmounts:
    workspace_seconds: int = 0
    ai_credits_used: float = 0.0
    cost_usd: float = 0.0
    rows: int = 0

    @property
    def workspace_hours(self) -> float:
        return self.workspace_seconds / 3600

    def __add__(self, other: UsageAmounts) -> UsageAmounts:
        return UsageAmounts(
            self.workspace_seconds + other.workspace_seconds,
            self.ai_credits_used + other.ai_credits_used,
            self.cost_usd + other.cost_usd,
            self.rows + other.rows,
        )


@dataclass(frozen=True)
class DayUsage:
    day: date
    amounts: UsageAmounts


@dataclass(frozen=True)
class RankedWorkspace:
    workspace_id: str
    name: str  # "" when the workspace is not (or no longer) in the cache
    customer_id: str
    owner_email: str
    status: str
    amounts: UsageAmounts


@dataclass(frozen=True)
class RankedUser:
    user_id: str
    email: str
    name: str
    customer_id: str
    workspaces: int  # distinct workspaces with usage in the period
    amounts: UsageAmounts


@dataclass(frozen=True)
class RankedCustomer:
    customer_id: str
    name: str
    amounts: UsageAmounts


@dataclass(frozen=True)
class Ranking:
    workspaces: list[RankedWorkspace]
    users: list[RankedUser]
    workspaces_with_usage: int
    users_with_usage: int


@dataclass(frozen=True)
class DayReconciliation:
    day: date
    status: str  # the worst state among the scope's customers, or ``missing``
    counts: dict[str, int] = field(default_factory=dict)  # state -> customers in it
    provider_data_through: str | None = None  # earliest among the scope's customers


@dataclass(frozen=True)
class UsageExtent:
    """Where a scope's usage lies in the whole cache (any period)."""

    first_day: date | None
    last_day: date | None
    days_with_usage: int


@dataclass(frozen=True)
class CustomerRef:
    id: str
    name: str


@dataclass(frozen=True)
class WorkspaceActivity:
    """What the scope's workspaces did around a period (from their cached timestamps)."""

    total: int
    in_period: int  # created by the period's end and used (or running) since its start
    used_after: int  # last used after the period ended
    running_now: int
    last_used_at: str | None  # latest among them


def amounts(seconds: object, credits: object, cost: object, rows: object = 0) -> UsageAmounts:
    """``UsageAmounts`` from SQL sums (NULL when nothing matched counts as zero)."""
    return UsageAmounts(
        int(seconds or 0),  # type: ignore[call-overload]
        float(credits or 0.0),  # type: ignore[arg-type]
        float(cost or 0.0),  # type: ignore[arg-type]
        int(rows or 0),  # type: ignore[call-overload]
    )

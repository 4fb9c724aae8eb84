"""The analytics service: a ``Selection`` (scope + period) in, an ``AnalyticsView`` out.

Used by ``ism-tui usage`` and the Analytics tab alike. It applies the playbook's role rules
(members are refused with the playbook's explanation; customer admins see only their customer),
reads every figure through one ``storage.usage_queries.UsageReader`` snapshot, and, when the
selection shows no or partial usage, attaches the five-reason diagnosis and the escalation the
playbook asks for (selected period and visible reconciliation status).
"""

from __future__ import annotations

import difflib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Engine

from ism_tui.analytics.diagnosis import (
    Finding,
    diagnose_selection,
    fix_it_yourself,
    needs_diagnosis,
)
from ism_tui.analytics.periods import PRESETS, Clock, Period, preset, today_utc, utc_now
from ism_tui.viewer import Viewer as Viewer
from storage.db import get_meta
from storage.usage_models import (
    CustomerRef,
    DayReconciliation,
    DayUsage,
    Metric,
    RankedCustomer,
    RankedUser,
    RankedWorkspace,
    Ranking,
    UsageAmounts,
)
from storage.usage_queries import UsageReader, provider_coverage, read_usage

Status = Literal["ok", "partial", "empty", "denied"]
MEMBER_DENIED = (
    "Analytics is for customer admins and platform operators. Ask a customer admin for a usage "
    "review if you need customer-level usage."
)
MEMBER_DENIED_NOTE = "That is expected, not a fault: a customer member cannot open Analytics."


class AnalyticsError(ValueError):
    """The selection cannot be shown; the message says what to do."""


class CacheEmpty(AnalyticsError):
    pass


class UnknownCustomer(AnalyticsError):
    def __init__(self, message: str, suggestions: list[CustomerRef]) -> None:
        super().__init__(message)
        self.suggestions = suggestions


@dataclass(frozen=True)
class Selection:
    """What the operator picked: a customer (``None`` = all customers) and a period."""

    scope_customer_id: str | None
    period: Period


@dataclass
class AnalyticsView:
    """Everything a screen or an export shows for one selection."""

    selection: Selection  # what is shown (a customer admin's scope is narrowed to theirs)
    requested: Selection  # what was asked for
    generated_at: datetime
    viewer: Viewer
    status: Status
    scope_label: str = "All customers"
    denied: str | None = None  # the playbook's explanation when the role may not see analytics
    notes: list[str] = field(default_factory=list)
    totals: UsageAmounts = field(default_factory=UsageAmounts)
    days: list[DayUsage] = field(default_factory=list)
    top_workspaces: list[RankedWorkspace] = field(default_factory=list)
    top_users: list[RankedUser] = field(default_factory=list)
    top_customers: list[RankedCustomer] = field(default_factory=list)  # all-customers scope only
    workspaces_with_usage: int = 0
    users_with_usage: int = 0
    reconciliation: list[DayReconciliation] = field(default_factory=list)
    provider_data_through: datetime | None = None
    diagnosis: list[Finding] = field(default_factory=list)
    escalation: dict[str, Any] | None = None  # only when the period is right, usage missing
    fix: str | None = None  # what the viewer changes instead (wrong scope or period...)

    @property
    def reconciliation_summary(self) -> dict[str, int]:
        """Days of the period per (worst) reconciliation state, e.g. {"reconciled": 28, ...}."""
        return dict(Counter(d.status for d in self.reconciliation))

    @property
    def days_with_usage(self) -> int:
        return sum(1 for d in self.days if d.amounts.rows)


def _parse_ts(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class AnalyticsService:
    """Analytics over the cache. ``clock`` gives "now" (UTC) so views are reproducible."""

    def __init__(self, engine: Engine, clock: Clock = utc_now, top_n: int = 10, *,
                 snapshot: bool = False) -> None:
        """``snapshot``: the cache will not change while this service is used (a blocker
        recompute diagnosing many customers), so who is viewing and the customer list are read
        once, not per view."""
        self.engine = engine
        self.clock = clock
        self.top_n = top_n
        self.snapshot = snapshot
        self._viewer: Viewer | None = None
        self._everyone: list[CustomerRef] | None = None

    # -- who and what -----------------------------------------------------------------------

    def viewer(self) -> Viewer:
        if self._viewer is not None:
            return self._viewer
        viewer = Viewer.from_meta(get_meta(self.engine, "me"))
        if self.snapshot:
            self._viewer = viewer
        return viewer

    def customers(self) -> list[CustomerRef]:
        """Customers the viewer may pick (a customer admin: only theirs)."""
        viewer = self.viewer()
        with read_usage(self.engine, refresh=False) as reader:
            found = reader.customers()
        if viewer.role == "customer_admin":
            found = [c for c in found if c.id == viewer.customer_id]
        return found

    def resolve_customer(self, text: str) -> CustomerRef:
        """A customer by id or name: exact id, exact name (any case), or a unique partial name.
        Otherwise ``UnknownCustomer`` naming close matches."""
        wanted = text.strip()
        if not wanted:
            raise UnknownCustomer("give a customer id or name", [])
        with read_usage(self.engine, refresh=False) as reader:
            everyone = reader.customers()
        if not everyone:
            raise CacheEmpty("the cache holds no customers yet: run `ism-tui sync` first")
        low = wanted.casefold()
        for pick in (
            [c for c in everyone if c.id == wanted],
            [c for c in everyone if c.name.casefold() == low],
            [c for c in everyone if low in c.name.casefold() or c.id.startswith(wanted)],
        ):
            if len(pick) == 1:
                return pick[0]
            if len(pick) > 1:
                listed = ", ".join(f"{c.name} ({c.id})" for c in pick[:6])
                raise UnknownCustomer(
                    f"{text!r} matches {len(pick)} customers: {listed}; give the id", pick
                )
        by_name = {c.name.casefold(): c for c in everyone}
        close = difflib.get_close_matches(low, list(by_name), n=3, cutoff=0.5)
        suggestions = [by_name[n] for n in close]
        hint = (
            "did you mean " + ", ".join(f"{c.name} ({c.id})" for c in suggestions) + "?"
            if suggestions
            else "`ism-tui usage` without --customer shows all customers"
        )
        raise UnknownCustomer(f"no customer {text!r} in the cache: {hint}", suggestions)

    # -- the view ---------------------------------------------------------------------------

    def view(self, selection: Selection, metric: Metric = "hours", *,
             rankings: bool = True) -> AnalyticsView:
        """The analytics of ``selection``. ``rankings=False`` leaves out the top workspaces,
        users and customers: the blocker rules only want the diagnosis and escalation, and
        ranking (and caching) every customer's top lists was most of a blocker recompute's
        analytics time."""
        now = self.clock()
        viewer = self.viewer()
        if viewer.role == "customer_member":
            return AnalyticsView(
                selection, selection, now, viewer, "denied",
                scope_label=viewer.customer_name or "Your customer",
                denied=MEMBER_DENIED, notes=[MEMBER_DENIED_NOTE],
            )
        shown, notes = self._effective(selection, viewer)
        start, end = shown.period.start, shown.period.end
        scope = shown.scope_customer_id
        with read_usage(self.engine, rankings=rankings) as reader:
            label = self._scope_label(reader, scope, selection.scope_customer_id)
            days = reader.daily(scope, start, end)
            totals = sum((d.amounts for d in days), UsageAmounts())
            ranking = (reader.ranking(scope, start, end, self.top_n, metric) if rankings
                       else Ranking([], [], 0, 0))
            top_customers = (
                reader.top_customers(start, end, self.top_n, metric)
                if scope is None and rankings else []
            )
            recon = reader.reconciliation(scope, start, end)
            through = _parse_ts(provider_coverage(recon))
            view = AnalyticsView(
                shown, selection, now, viewer, "ok", label, None, notes, totals, days,
                ranking.workspaces, ranking.users, top_customers,
                ranking.workspaces_with_usage, ranking.users_with_usage, recon, through,
            )
            if totals.rows == 0:
                view.status = "empty"
            if view.status == "empty" or needs_diagnosis(recon, through, shown.period, now):
                if self.snapshot and self._everyone is None:
                    self._everyone = reader.customers()
                view.diagnosis = diagnose_selection(
                    reader, scope, shown.period, now, totals.rows, recon, through,
                    self._everyone,
                )
                if view.status == "ok" and view.diagnosis:
                    view.status = "partial"
        if view.status in ("empty", "partial"):
            yours = fix_it_yourself(view.diagnosis)
            if yours is not None:
                view.fix = yours.fix
            else:
                view.escalation = escalation_payload(view)
        return view

    def prepare(self, keys: tuple[str, ...] = tuple(PRESETS), metric: Metric = "hours") -> int:
        """Compute and cache the rankings of the preset periods for the viewer's widest scope
        (all customers; a customer admin's own customer) so the first view of each costs
        milliseconds. Call it from a worker after a sync; returns how many were prepared."""
        viewer = self.viewer()
        if viewer.role == "customer_member":
            return 0
        scope = viewer.customer_id if viewer.role == "customer_admin" else None
        today = today_utc(self.clock)
        with read_usage(self.engine) as reader:
            for key in keys:
                period = preset(key, today)
                reader.ranking(scope, period.start, period.end, self.top_n, metric)
        return len(keys)

    def _effective(self, selection: Selection, viewer: Viewer) -> tuple[Selection, list[str]]:
        if viewer.role != "customer_admin" or not viewer.customer_id:
            if viewer.role == "unknown":
                return selection, [
                    "who the token is is not cached yet: run `ism-tui sync` to apply role rules"
                ]
            return selection, []
        if selection.scope_customer_id == viewer.customer_id:
            return selection, []
        name = viewer.customer_name or viewer.customer_id
        return Selection(viewer.customer_id, selection.period), [
            f"customer admins see only their own customer: showing {name}"
        ]

    @staticmethod
    def _scope_label(reader: UsageReader, scope: str | None, asked: str | None) -> str:
        if scope is None:
            return "All customers"
        found = reader.customer(scope)
        if found is None:
            if asked == scope:
                raise UnknownCustomer(
                    f"no customer {scope!r} in the cache: pick one from the customer list or "
                    "run `ism-tui sync` if it is new",
                    [],
                )
            return scope
        return f"{found.name} ({found.id})"


def escalation_payload(view: AnalyticsView) -> dict[str, Any]:
    """What support needs when analytics looks empty (the playbook: "send support the selected
    period and visible reconciliation status"), plus the checks already made. No secrets: only
    ids, names, dates, states and counts."""
    period = view.selection.period
    not_reconciled = [
        {"day": d.day.isoformat(), "status": d.status, "customers": d.counts}
        for d in view.reconciliation
        if d.status != "reconciled"
    ]
    return {
        "case": "analytics_empty",
        "customer": view.scope_label,
        "customer_id": view.selection.scope_customer_id,
        "selected_period": {"from": period.start.isoformat(), "to": period.end.isoformat(),
                            "label": period.label},
        "reconciliation_status": view.reconciliation_summary,
        "days_not_reconciled": not_reconciled,
        "provider_data_through": (
            view.provider_data_through.isoformat().replace("+00:00", "Z")
            if view.provider_data_through else None
        ),
        "usage_shown": {
            "rows": view.totals.rows,
            "workspace_hours": round(view.totals.workspace_hours, 2),
            "days_with_usage": view.days_with_usage,
        },
        "checked": [
            {"reason": f.reason, "holds": f.holds, "evidence": f.evidence}
            for f in view.diagnosis
        ],
        "generated_at": view.generated_at.isoformat().replace("+00:00", "Z"),
    }

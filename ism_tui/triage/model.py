"""A blocker: one playbook case on one subject, with its evidence and escalation fields."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ism_tui.triage.playbook import CASES, SEVERITY_WORDS


@dataclass(frozen=True)
class Evidence:
    field: str  # which cached field said so, e.g. "customer.billing.approval"
    value: str
    since: str | None = None


@dataclass(frozen=True)
class Route:
    """A blocker as one viewer sees it (``triage.routing``): who acts next, where it escalates
    (None: nowhere), the viewer's next step, and what the viewer's role can do now."""

    viewer_role: str
    who_acts_next: str
    escalate_to: str | None
    next_step: str
    you_can: str | None = None


@dataclass
class Blocker:
    id: str  # stable: "<case>:<subject id>[:<detail>]"
    case: str
    severity: int
    subject_type: str  # customer | user | invite | workspace
    subject_id: str
    subject_name: str
    customer_id: str | None
    customer_name: str
    summary: str
    since: str | None = None
    reason: str | None = None  # analytics_empty: scope, period, reconciliation, ...
    evidence: list[Evidence] = field(default_factory=list)
    escalation: dict[str, Any] = field(default_factory=dict)
    explained_only: bool = False
    # A Console-reported create blocker that the cache's create readiness shows too: the id of
    # the readiness blocker it stands for (left out of the queue: one line per problem).
    folds: str | None = None
    # How the viewer sees it (``triage.routing``): set when read for a viewer, never stored.
    route: Route | None = None

    @property
    def playbook(self) -> Any:
        return CASES[self.case]

    @property
    def severity_word(self) -> str:
        return SEVERITY_WORDS.get(self.severity, str(self.severity))

    @property
    def owner(self) -> str:
        """Who acts next: as the viewer sees it when routed, else the case's default."""
        return self.route.who_acts_next if self.route else str(CASES[self.case].owner)

    @property
    def escalate_to(self) -> str | None:
        return self.route.escalate_to if self.route else CASES[self.case].escalate_to

    @property
    def steps(self) -> tuple[str, ...]:
        return CASES[self.case].steps

    @property
    def done_when(self) -> tuple[str, ...]:
        return CASES[self.case].done_when

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Blocker:
        values = dict(data)
        values["evidence"] = [Evidence(**e) for e in values.get("evidence", [])]
        values.pop("route", None)
        return cls(**values)

"""The triage queue: blockers grouped by customer, the most urgent customer first."""

from __future__ import annotations

from dataclasses import dataclass

from ism_tui.triage.model import Blocker


@dataclass
class CustomerGroup:
    customer_id: str | None
    customer_name: str
    blockers: list[Blocker]

    @property
    def worst(self) -> int:
        return max((b.severity for b in self.blockers), default=0)


def sort_key(b: Blocker) -> tuple[int, str, str]:
    """Severity (highest first), then age (oldest first), then id for stability."""
    return (-b.severity, b.since or "9999", b.id)


def group_by_customer(blockers: list[Blocker]) -> list[CustomerGroup]:
    groups: dict[str | None, CustomerGroup] = {}
    for b in sorted(blockers, key=sort_key):
        group = groups.setdefault(b.customer_id, CustomerGroup(b.customer_id, b.customer_name, []))
        group.blockers.append(b)
    return sorted(groups.values(), key=lambda g: (-g.worst, sort_key(g.blockers[0])))

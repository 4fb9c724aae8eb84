"""Why a selection's analytics look empty or partial: the playbook's five checks, with evidence.

The playbook ("Analytics looks empty") says to check, in order: the selected customer scope, the
selected period, reconciliation status, whether the workspace was running during the period, and
whether provider usage may be delayed. Each check becomes a ``Finding`` (holds or not, with the
evidence read from the cache), and one of those holding is ``primary``: the most specific
explanation, in the order scope, reconciliation, provider delay, not running, period. "Period"
is the residual reason (usage exists, just not in the selected days) so it holds only when no
data-side reason explains the gap.

The facts come from one ``UsageReader`` snapshot; ``check_reasons`` is pure.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any

from ism_tui.analytics.periods import Period
from storage.usage_models import CustomerRef, DayReconciliation, UsageExtent, WorkspaceActivity
from storage.usage_queries import UsageReader

REASONS = ("scope", "period", "reconciliation", "not_running", "provider_delay")
PRIORITY = ("scope", "reconciliation", "provider_delay", "not_running", "period")
TITLES = {
    "scope": "The selected customer scope",
    "period": "The selected period",
    "reconciliation": "Reconciliation status",
    "not_running": "Whether the workspaces were running during the period",
    "provider_delay": "Whether provider usage may be delayed",
}
FIXES = {
    "scope": "Select the customer account that owns the workspaces.",
    "period": "Select a period in which the workspaces ran.",
    "reconciliation": "Wait for reconciliation; if days stay failed, escalate to support with "
                      "the selected period and the visible reconciliation status.",
    "not_running": "Nothing to fix: no usage is expected while no workspace runs.",
    "provider_delay": "Providers' billing data can lag up to ~24 h: check again later; if it "
                      "stays behind, escalate with the selected period and reconciliation status.",
}
# Reasons the viewer fixes in the selection itself (or where nothing is missing): never sent to
# support. Only a correct period with usage still missing (the other reasons, or none found)
# is escalated, as the playbook says.
FIX_IT_YOURSELF = ("scope", "period", "not_running")
SETTLE_AFTER = timedelta(hours=30)  # a day still pending this long after it ended is overdue
PROVIDER_LAG_OK = timedelta(hours=6)  # normal lag of provider data behind now


@dataclass(frozen=True)
class Finding:
    reason: str  # one of REASONS
    holds: bool
    summary: str  # one line: what was checked and found
    evidence: list[str] = field(default_factory=list)
    primary: bool = False

    @property
    def title(self) -> str:
        return TITLES[self.reason]

    @property
    def fix(self) -> str:
        return FIXES[self.reason]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"title": self.title, "fix": self.fix if self.holds else ""}


@dataclass(frozen=True)
class SelectionFacts:
    """Everything the five checks need about one selection."""

    customer: CustomerRef | None  # None: all customers
    period: Period
    now: datetime
    rows_in_period: int
    extent: UsageExtent  # the scope's usage anywhere in the cache
    reconciliation: list[DayReconciliation]
    provider_data_through: datetime | None
    workspaces: WorkspaceActivity | None  # only gathered when the period is empty
    lookalikes: list[tuple[CustomerRef, int]]  # similar customers and their rows in the period
    # all-customers scope only: which customers have days not reconciled, and in which state
    unreconciled: list[tuple[CustomerRef, date, str]] = field(default_factory=list)


@lru_cache(maxsize=4096)
def _normal(name: str) -> str:
    return " ".join(re.sub(r"[^\w]+", " ", name.casefold()).split())


@lru_cache(maxsize=4096)
def _letters(name: str) -> Counter[str]:
    return Counter(name)


def _similar(a: str, b: str, cutoff: float = 0.8) -> bool:
    """difflib ratio >= cutoff, with its cheap upper bounds first (most pairs stop there):
    the length bound and the shared-letters bound (difflib's real_quick_ratio and
    quick_ratio, computed here without building a SequenceMatcher per pair)."""
    total = len(a) + len(b)
    if not total or 2 * min(len(a), len(b)) < cutoff * total:
        return False
    if 2 * (_letters(a) & _letters(b)).total() < cutoff * total:
        return False
    return difflib.SequenceMatcher(None, a, b).ratio() >= cutoff


def _same_lead(a: str, b: str, words: int = 2) -> bool:
    """Both names start with the same two words ("bluefin labs eu" and "bluefin labs"): what
    an operator picking from a list confuses, whatever follows (suffixes such as a region,
    or junk a tenant appended to one of them)."""
    lead_a, lead_b = a.split(" ", words)[:words], b.split(" ", words)[:words]
    return len(lead_a) == words and lead_a == lead_b


def lookalike_customers(target: CustomerRef, everyone: list[CustomerRef]) -> list[CustomerRef]:
    """Customers whose names could be mistaken for ``target``'s (e.g. "Bluefin Labs (EU)")."""
    by_id = {c.id: c for c in everyone}
    names = tuple((c.id, c.name) for c in everyone)
    return [by_id[i] for i in _lookalike_ids(target.id, target.name, names)]


@lru_cache(maxsize=256)
def _lookalike_ids(target_id: str, target_name: str,
                   everyone: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Cached on the names: every blocker recompute diagnoses the same customers again."""
    mine = _normal(target_name)
    found = []
    for cid, name in everyone:
        other = _normal(name)
        if cid == target_id or not other or not mine:
            continue
        if (other.startswith(mine) or mine.startswith(other) or _same_lead(mine, other)
                or _similar(mine, other)):
            found.append(cid)
    return tuple(found)


def gather_facts(reader: UsageReader, scope: str | None, period: Period, now: datetime,
                 rows_in_period: int, reconciliation: list[DayReconciliation],
                 provider_data_through: datetime | None,
                 customers: list[CustomerRef] | None = None) -> SelectionFacts:
    """``customers``: every customer, when the caller already holds them (else read)."""
    customer = reader.customer(scope) if scope else None
    lookalikes: list[tuple[CustomerRef, int]] = []
    workspaces = None
    if rows_in_period == 0:
        workspaces = reader.workspace_activity(scope, period.start, period.end)
        if customer is not None:
            everyone = customers if customers is not None else reader.customers()
            similar = lookalike_customers(customer, everyone)
            rows = reader.usage_rows_by_customer([c.id for c in similar], period.start,
                                                 period.end)
            lookalikes = [(c, rows.get(c.id, 0)) for c in similar]
    unreconciled = []
    if scope is None and any(
        set(d.counts) - {"reconciled"} for d in reconciliation
    ):
        unreconciled = reader.unreconciled(None, period.start, period.end)
    return SelectionFacts(customer, period, now, rows_in_period, reader.extent(scope),
                          reconciliation, provider_data_through, workspaces, lookalikes,
                          unreconciled)


def _who(f: SelectionFacts, states: tuple[str, ...], overdue_only: bool = False) -> list[str]:
    """For the all-customers scope: the customers behind ``states``, e.g. "Pinecrest Media
    (cus-0007): failed 2 day(s)" (pending counts only once overdue, if ``overdue_only``)."""
    found: dict[CustomerRef, dict[str, int]] = {}
    for customer, day, state in f.unreconciled:
        if state not in states:
            continue
        if overdue_only and state == "pending" and _day_end(day) + SETTLE_AFTER > f.now:
            continue
        counts = found.setdefault(customer, {})
        counts[state] = counts.get(state, 0) + 1
    shown = [
        f"{c.name or c.id} ({c.id}): " + ", ".join(f"{s} {n} day(s)" for s, n in counts.items())
        for c, counts in list(found.items())[:5]
    ]
    if len(found) > 5:
        shown.append(f"and {len(found) - 5} more customers")
    return shown


def _day_end(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), UTC)


def _fmt(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


def _days(items: list[date]) -> str:
    shown = ", ".join(d.isoformat() for d in items[:5])
    return shown + (f" and {len(items) - 5} more" if len(items) > 5 else "")


def _hours(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 3600:.0f} h"


def _scope(f: SelectionFacts) -> Finding:
    if f.customer is None:
        return Finding("scope", False, "all customers are selected: nothing is out of scope")
    name = f"{f.customer.name} ({f.customer.id})"
    if f.rows_in_period:
        return Finding("scope", False, f"{name} has usage in this period")
    with_usage = [(c, n) for c, n in f.lookalikes if n]
    if not with_usage:
        others = ", ".join(f"{c.name} ({c.id})" for c, _ in f.lookalikes)
        return Finding("scope", False, "no similarly named customer has usage in this period"
                       + (f" (checked {others})" if others else ""))
    evidence = [f"{c.name} ({c.id}) has {n:,} usage rows in this period" for c, n in with_usage]
    evidence.append(f"{name} has none" + (
        "" if f.workspaces is None or f.workspaces.total else " and no workspaces at all"))
    return Finding("scope", True, "a similarly named customer holds the usage: the wrong "
                   "customer account may be selected", evidence)


def _reconciliation(f: SelectionFacts) -> Finding:
    failed = [d.day for d in f.reconciliation if d.counts.get("failed")]
    overdue = [d.day for d in f.reconciliation
               if d.counts.get("pending") and _day_end(d.day) + SETTLE_AFTER <= f.now]
    fresh = [d.day for d in f.reconciliation
             if d.counts.get("pending") and d.day not in overdue]
    if not any(d.counts for d in f.reconciliation):
        return Finding("reconciliation", False,
                       "the Console reports no reconciliation for these days")
    if not failed and not overdue:
        note = f" ({len(fresh)} recent day(s) still pending, as usual)" if fresh else ""
        return Finding("reconciliation", False, "every settled day is reconciled" + note)
    evidence = []
    if failed:
        evidence.append(f"reconciliation failed for {len(failed)} day(s): {_days(failed)}")
    if overdue:
        evidence.append(f"reconciliation still pending for {len(overdue)} day(s) more than "
                        f"{_hours(SETTLE_AFTER)} after they ended: {_days(overdue)}")
    evidence += _who(f, ("failed", "pending"), overdue_only=True)
    return Finding("reconciliation", True, "usage for some days is not reconciled yet, so it "
                   "is not shown", evidence)


def _provider_delay(f: SelectionFacts) -> Finding:
    delayed = [d.day for d in f.reconciliation if d.counts.get("delayed")]
    expected = min(f.now, _day_end(f.period.end))
    through = f.provider_data_through
    if through is None:
        summary = "the Console reports no provider coverage for this period"
        if not delayed:
            return Finding("provider_delay", False, summary)
        return Finding("provider_delay", True, summary,
                       [f"reconciliation delayed for {_days(delayed)}"])
    lag = expected - through
    if not delayed and lag <= PROVIDER_LAG_OK:
        return Finding("provider_delay", False,
                       f"provider data is current (through {_fmt(through)})")
    evidence = [f"provider data through {_fmt(through)}, {_hours(lag)} behind "
                f"{'now' if expected == f.now else 'the end of the period'}"]
    if delayed:
        evidence.append(f"reconciliation delayed for {len(delayed)} day(s): {_days(delayed)}")
    evidence += _who(f, ("delayed",))
    return Finding("provider_delay", True, "provider usage is delayed: the latest usage is "
                   "not in yet", evidence)


def _not_running(f: SelectionFacts) -> Finding:
    if f.rows_in_period or f.workspaces is None:
        return Finding("not_running", False, "workspaces ran during the period")
    ws = f.workspaces
    if ws.in_period or ws.used_after:
        when = "during" if ws.in_period else "after"
        n = ws.in_period or ws.used_after
        return Finding("not_running", False, f"{n} workspace(s) were in use {when} the period")
    if ws.total == 0:
        return Finding("not_running", True, "no workspace exists in this scope, so none ran",
                       ["0 workspaces in the cache for this scope"])
    last = (f"; last used {ws.last_used_at[:16].replace('T', ' ')}Z" if ws.last_used_at else "")
    return Finding("not_running", True, "no workspace ran during the period", [
        f"{ws.total} workspace(s), none running now{last}, before the period starts "
        f"({f.period.start.isoformat()})",
    ])


def _period(f: SelectionFacts) -> Finding:
    e = f.extent
    if f.rows_in_period:
        return Finding("period", False, "the period holds usage")
    if e.first_day is None or e.last_day is None:
        return Finding("period", False, "no usage is cached for this scope in any period")
    span = f"{e.first_day.isoformat()} to {e.last_day.isoformat()}"
    evidence = [f"usage is cached on {e.days_with_usage} day(s) from {span}",
                f"the selected period ({f.period.start.isoformat()} to "
                f"{f.period.end.isoformat()}) has none"]
    if f.period.end < e.first_day:
        evidence.append("the period ends before the first cached usage day")
    if not any(d.counts for d in f.reconciliation):
        evidence.append("the Console reports no reconciliation for any day of the period")
    return Finding("period", True, "usage exists, but not in the selected period", evidence)


def check_reasons(f: SelectionFacts) -> list[Finding]:
    """The five checks in the playbook's order, with the most specific holding one primary."""
    found = {x.reason: x for x in (_scope(f), _period(f), _reconciliation(f), _not_running(f),
                                   _provider_delay(f))}
    holding = [r for r in PRIORITY if found[r].holds]
    if holding and holding[0] != "period" and found["period"].holds:
        found["period"] = Finding("period", False, "usage exists outside the period, but "
                                  f"{holding[0].replace('_', ' ')} explains the gap")
    if found["scope"].holds and found["not_running"].holds:
        found["not_running"] = Finding("not_running", False,
                                       "this customer has nothing to run: see scope")
    first = next((r for r in PRIORITY if found[r].holds), None)
    return [
        Finding(x.reason, x.holds, x.summary, x.evidence, primary=x.reason == first)
        for x in (found[r] for r in REASONS)
    ]


def needs_diagnosis(reconciliation: list[DayReconciliation], through: datetime | None,
                    period: Period, now: datetime) -> bool:
    """Whether a view with usage may still be partial (a data-side reason could hold)."""
    for d in reconciliation:
        if d.counts.get("failed") or d.counts.get("delayed"):
            return True
        if d.counts.get("pending") and _day_end(d.day) + SETTLE_AFTER <= now:
            return True
    if through is None:
        return False
    return min(now, _day_end(period.end)) - through > PROVIDER_LAG_OK


def diagnose_selection(reader: UsageReader, scope: str | None, period: Period, now: datetime,
                       rows_in_period: int, reconciliation: list[DayReconciliation],
                       through: datetime | None,
                       customers: list[CustomerRef] | None = None) -> list[Finding]:
    """All five checks for a selection; for a view with usage, only data-side reasons can hold
    (its diagnosis is empty when none does)."""
    facts = gather_facts(reader, scope, period, now, rows_in_period, reconciliation, through,
                         customers)
    findings = check_reasons(facts)
    if rows_in_period and not any(x.holds for x in findings):
        return []
    return findings


def fix_it_yourself(findings: list[Finding]) -> Finding | None:
    """The primary finding when it is one the viewer fixes (then nothing is escalated)."""
    main = next((f for f in findings if f.primary and f.holds), None)
    return main if main is not None and main.reason in FIX_IT_YOURSELF else None

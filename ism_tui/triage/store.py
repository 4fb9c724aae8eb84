"""Triage over the cache: recompute blockers after a sync, and read them back for the screens,
the CLI and the actions policy."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from ism_tui.triage.model import Blocker
from ism_tui.triage.rules import Diagnose, evaluate, subject_rules
from storage import triage_io
from storage.db import Cache

if TYPE_CHECKING:
    from sqlalchemy import Engine

Clock = Callable[[], datetime]


def analytics_diagnoser(engine: Engine, clock: Clock | None = None) -> Diagnose:
    """The five-reason diagnosis of ``ism_tui.analytics`` for one customer and period."""
    from ism_tui.analytics.periods import PeriodError, custom, parse_day, utc_now
    from ism_tui.analytics.service import AnalyticsError, AnalyticsService, Selection

    service = AnalyticsService(engine, clock=clock or utc_now, snapshot=True)

    def diagnose(customer_id: str, start: str, end: str
                 ) -> tuple[str, list[str], dict[str, Any]] | None:
        try:
            today = service.clock().date()
            period = custom(parse_day(start), parse_day(end), today)
            view = service.view(Selection(customer_id, period), rankings=False)
        except (AnalyticsError, PeriodError):
            return None
        if view.status not in ("empty", "partial") or not view.diagnosis:
            return None
        holding = [f for f in view.diagnosis if f.holds]
        if not holding:
            return None
        main = next((f for f in holding if f.primary), holding[0])
        esc = view.escalation or {}
        recon = ", ".join(f"{k} {v}" for k, v in sorted(view.reconciliation_summary.items()))
        fields = {"selected_period": f"{start}..{end}",
                  "reconciliation_status": esc.get("reconciliation_status") or recon or None,
                  "provider_data_through": esc.get("provider_data_through"),
                  "fix": main.fix}
        return main.reason, [main.summary, *main.evidence], fields

    return diagnose


@dataclass
class Prepared:
    """A full recompute's snapshot and subject blockers, made ahead (``prepare_blockers``)."""

    snap: triage_io.Snapshot
    subjects: list[Blocker]


def prepare_blockers(engine: Engine) -> Prepared:
    """The part of a full recompute that reads only customers, users, invites, workspaces and
    audit events: a sync does it as soon as those are synced, while usage still is."""
    snap = triage_io.read_snapshot(engine)
    return Prepared(snap, subject_rules(snap))


def recompute_blockers(engine: Engine, clock: Clock | None = None,
                       scope: triage_io.Scope | None = None,
                       wait: Callable[[], object] | None = None,
                       prepared: Prepared | None = None) -> int:
    """Re-run the rules over the cache and replace the blockers table (or, with ``scope``,
    only the blockers of what changed: an incremental sync touches ~1% of subjects); returns
    how many blockers were written. ``wait``: called before the first analytics diagnosis
    and before writing (the sync builds the usage roll-ups meanwhile, in another thread).
    ``prepared``: ``prepare_blockers`` of the same cache, for a full recompute."""
    if scope is not None and scope.empty:
        return 0
    assert prepared is None or scope is None, "a prepared snapshot is a full one"
    snap = prepared.snap if prepared is not None else triage_io.read_snapshot(engine, scope)
    diagnose: Diagnose | None = None
    if scope is None or scope.analytics:
        diagnose = analytics_diagnoser(engine, clock)
    if diagnose is not None and wait is not None:
        diagnose = _after(wait, diagnose)
    blockers = evaluate(snap, diagnose, prepared.subjects if prepared is not None else None)
    if wait is not None:
        wait()
    rows = [{"id": b.id, "case": b.case, "severity": b.severity, "customer_id": b.customer_id,
             "subject_type": b.subject_type, "subject_id": b.subject_id, "summary": b.summary,
             "since": b.since, "payload": orjson.dumps(b).decode()}  # dataclasses natively
            for b in blockers]
    triage_io.replace_blockers(engine, rows, scope)
    return len(rows)


def _after(wait: Callable[[], object], diagnose: Diagnose) -> Diagnose:
    def waited(customer_id: str, start: str, end: str
               ) -> tuple[str, list[str], dict[str, Any]] | None:
        wait()
        return diagnose(customer_id, start, end)

    return waited


def _load(payloads: list[str]) -> list[Blocker]:
    return [Blocker.from_dict(orjson.loads(p)) for p in payloads]


def list_blockers(engine: Engine | Cache, customer_id: str | None = None,
                  case: str | None = None) -> list[Blocker]:
    where, params = [], {}
    if customer_id:
        where.append("customer_id = :c")
        params["c"] = customer_id
    if case:
        where.append('"case" = :k')
        params["k"] = case
    return _load(triage_io.select_blockers(engine, " AND ".join(where), params))


def get_blocker(engine: Engine | Cache, blocker_id: str) -> Blocker | None:
    found = _load(triage_io.select_blockers(engine, "id = :i", {"i": blocker_id}))
    return found[0] if found else None


def blockers_for(engine: Engine | Cache, subject_type: str, subject_id: str) -> list[Blocker]:
    """A subject's blockers; a user's include the create blockers that fold the user's own."""
    folded = (f" OR (\"case\" = 'user_provisioning_failed' AND {triage_io.FOLDED_USER} = :s)"
              if subject_type == "user" else "")
    return _load(triage_io.select_blockers(
        engine, f"(subject_type = :t AND subject_id = :s){folded}",
        {"t": subject_type, "s": subject_id}))


def routed(engine: Engine | Cache, blockers: list[Blocker], *, read_only: bool = False,
           viewer: Any = None) -> list[Blocker]:
    """``blockers`` with their ``route`` set as the cached token's viewer sees them (who acts
    next, where it escalates, what the viewer may do now: ``triage.routing``)."""
    from ism_tui.actions.policy import available_actions
    from ism_tui.triage.routing import route
    from ism_tui.viewer import Viewer
    from storage.db import get_meta

    if not blockers:
        return blockers
    if viewer is None:
        viewer = Viewer.from_meta(get_meta(engine, "me"))
    admins, rows = triage_io.routing_facts(
        engine, {b.customer_id for b in blockers if b.customer_id},
        {(b.subject_type, b.subject_id) for b in blockers})
    of_subject: dict[tuple[str, str], list[Blocker]] = {}
    for b in blockers:
        of_subject.setdefault((b.subject_type, b.subject_id), []).append(b)
    for b in blockers:
        emails = admins.get(b.customer_id or "", [])
        key = (b.subject_type, b.subject_id)
        row = rows.get(key)
        standing: list[Any] = of_subject[key]
        if row is not None and b.case == "provisioning_failed":  # may it be retried now?
            standing = retry_blockers(engine, row, of_subject[key])
        allowed = [] if row is None else [
            name for name, verdict in available_actions(viewer, row, standing,
                                                        customer_admins=emails)
            if verdict.allowed]
        b.route = route(b, viewer.role, emails, allowed, read_only)
    return blockers


def retry_blockers(engine: Engine | Cache, workspace: dict[str, Any],
                   blockers: list[Blocker]) -> list[Any]:
    """What stands before a retry of this workspace's create, read from the cache now: its
    owner x template x target readiness, plus its blockers that are not create blockers. A
    create blocker the Console reported stays only while the cached state still shows it (the
    Console re-checks at the retry; its report is as old as the last create attempt)."""
    from ism_tui.triage.playbook import CREATE_BLOCKER_CASES

    now = workspace_readiness(engine, workspace)
    codes = {n.code for n in now}
    kept = [b for b in blockers if b.case not in CREATE_BLOCKER_CASES or b.case in codes]
    reported = {b.case for b in kept}
    return [*kept, *(n for n in now if n.code not in reported)]


def workspace_readiness(engine: Engine | Cache, workspace: dict[str, Any]) -> list[Any]:
    """The create readiness (``NotReady`` items) of a workspace's owner x template x target,
    from the cache."""
    from ism_tui.triage.readiness import create_readiness

    customer, owner, alias, target = triage_io.create_inputs(engine, workspace)
    return create_readiness(customer, owner, alias, str(workspace.get("template_alias") or ""),
                            target, str(workspace.get("target_id") or ""))


class SubjectNotFound(LookupError):
    """No (or more than one) cached user, workspace or customer matches what was typed."""


def subject_escalations(engine: Engine | Cache, kind: str, typed: str, case: str | None = None,
                        reported_by: str = "") -> list[Blocker]:
    """The escalations of a user (email or id), workspace (name or id) or customer (id or
    name): its blockers in the cache, or, when it has none (or ``case`` is given), an ad-hoc
    one of the matching playbook case filled from the cache."""
    from ism_tui.redact import scrub
    from ism_tui.triage.adhoc import adhoc_blocker

    found = triage_io.find_subjects(engine, kind, typed)
    if not found:
        raise SubjectNotFound(f"no {kind} {typed!r} in the cache (run `ism-tui sync`?)")
    if len(found) > 1:
        ids = ", ".join(f"{r['id']} ({r.get('customer_id') or r.get('name')})" for r in found)
        raise SubjectNotFound(f"{typed!r} matches {len(found)} {kind}s: give one id of {ids}")
    row = found[0]
    if case is None:
        existing = (list_blockers(engine, customer_id=row["id"]) if kind == "customer"
                    else blockers_for(engine, kind, row["id"]))
        if existing:
            return existing
    customer = row if kind == "customer" else triage_io.customer_row(engine, row["customer_id"])
    tail: list[str] = []
    readiness: list[Any] = []
    if kind == "workspace":
        tail = [scrub(f"[{x['stage']}] {x['level']}: {x['output']}", 400)
                for x in triage_io.log_tail(engine, row.get("build_id"))]
        readiness = workspace_readiness(engine, row)
    return [adhoc_blocker(kind, row, customer, case, log_tail=tail, readiness=readiness,
                          reported_by=reported_by)]

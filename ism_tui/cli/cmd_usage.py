"""``ism-tui usage``: usage totals, per-day table and empty-analytics diagnosis from the cache.

Reads the local cache only (run ``ism-tui sync`` first). ``--json`` and ``--csv`` print the
export formats of ``ism_tui.analytics.export``; without them a readable summary is printed.
Exit codes: 0 shown, 1 cache problem, 2 bad input, 3 not permitted for the token's role.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ism_tui.cli.output import echo

PERIOD_KEYS = ("today", "7d", "30d", "90d", "this-month", "last-month")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customer", metavar="ID|NAME",
                        help="one customer by id or name (default: all customers)")
    parser.add_argument("--period", metavar="|".join(PERIOD_KEYS),
                        help="a preset period ending today, UTC (default: 30d)")
    parser.add_argument("--from", dest="date_from", metavar="YYYY-MM-DD",
                        help="first day of a custom period (UTC)")
    parser.add_argument("--to", dest="date_to", metavar="YYYY-MM-DD",
                        help="last day of a custom period (default: today)")
    fmt = parser.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="print the view as JSON")
    fmt.add_argument("--csv", action="store_true", help="print per-day rows and totals as CSV")
    parser.add_argument("--top", type=int, default=5, metavar="N",
                        help="how many top workspaces and users to list (default: 5)")
    parser.add_argument("--by", choices=("hours", "credits", "cost"), default="hours",
                        help="what ranks the top lists (default: hours)")
    parser.add_argument("-o", "--output", metavar="FILE",
                        help="write the JSON/CSV export to FILE instead of printing it")


def _fail(message: str, code: int) -> int:
    echo(f"ism-tui usage: error: {message}", err=True)
    return code


def run(args: argparse.Namespace) -> int:
    from ism_tui.analytics import periods
    from ism_tui.analytics.export import export
    from ism_tui.analytics.periods import PeriodError, parse_period
    from ism_tui.analytics.service import (
        AnalyticsError,
        AnalyticsService,
        CacheEmpty,
        Selection,
    )

    if args.top < 0 or args.top > 100:
        return _fail(f"--top must be between 0 and 100, got {args.top}", 2)
    try:
        period = parse_period(args.period, args.date_from, args.date_to, clock=periods.utc_now)
    except PeriodError as exc:
        return _fail(str(exc), 2)
    try:
        engine = _open_cache(args)
    except Exception as exc:  # config and cache errors carry their own actionable message
        return _fail(str(exc), 1)
    try:
        service = AnalyticsService(engine, clock=periods.utc_now, top_n=args.top)
        if _cache_is_empty(engine):
            return _fail("the cache holds no data yet: run `ism-tui sync` first", 1)
        customer_id = None
        if args.customer:
            customer_id = service.resolve_customer(args.customer).id
        view = service.view(Selection(customer_id, period), metric=args.by)
        if view.status == "denied":
            echo(view.denied)
            for note in view.notes:
                echo(note)
            return 3
        fmt = "json" if args.json else "csv" if args.csv else None
        if fmt is None and args.output:
            fmt = "csv" if args.output.lower().endswith(".csv") else "json"
        if fmt is not None:
            text = export(view, fmt)
            if args.output:
                from ism_tui.private_files import write_private

                write_private(Path(args.output), text)
                echo(f"wrote {fmt.upper()} for {view.scope_label}, {period.label} "
                     f"to {args.output}", err=True)
            else:
                sys.stdout.write(text)
            return 0
        echo(render_summary(view))
        return 0
    except CacheEmpty as exc:
        return _fail(str(exc), 1)
    except AnalyticsError as exc:
        return _fail(str(exc), 2)
    except OSError as exc:
        return _fail(f"cannot write {args.output}: {exc.strerror}", 1)
    finally:
        engine.dispose()


def _open_cache(args: argparse.Namespace) -> Any:
    from ism_tui.services import build_services

    services = build_services(getattr(args, "profile", None), getattr(args, "config", None),
                              read_only=True)
    return services.engine


def _cache_is_empty(engine: Any) -> bool:
    from storage.db import get_meta
    from storage.usage_queries import read_usage

    with read_usage(engine, refresh=False) as reader:
        counts = reader.counts()
    return not any(counts.values()) and get_meta(engine, "me") is None


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def render_summary(view: Any) -> str:
    """The terminal summary: header, totals, reconciliation, per-day table, top lists and the
    diagnosis with what to send support. Plain text; every cached string is one-lined."""
    from ism_tui.text import one_line

    p = view.selection.period
    t = view.totals
    lines = [
        f"Usage: {one_line(view.scope_label)}, {p.label}, {p.days} day{'s' * (p.days != 1)}",
        f"Status: {view.status.upper()}" + {
            "empty": " (no usage rows in this period)",
            "partial": " (usage may be incomplete, see below)",
        }.get(view.status, ""),
    ]
    lines += [f"Note: {one_line(n)}" for n in view.notes]
    lines += [
        "",
        f"Totals: {_num(t.workspace_hours)} workspace hours, {_num(t.ai_credits_used, 2)} AI "
        f"credits, ${_num(t.cost_usd, 2)}, {t.rows:,} usage rows on {view.days_with_usage} "
        f"day{'s' * (view.days_with_usage != 1)}",
    ]
    summary = ", ".join(f"{k} {v}" for k, v in sorted(view.reconciliation_summary.items()))
    through = (view.provider_data_through.strftime("%Y-%m-%d %H:%MZ")
               if view.provider_data_through else "unknown")
    lines.append(f"Reconciliation (days): {summary or 'none reported'}; "
                 f"provider data through {through}")
    lines += ["", f"{'Day':<10}  {'Hours':>9}  {'AI credits':>10}  {'Cost $':>10}  {'Rows':>6}"
                  "  Reconciliation"]
    recon = {d.day: d.status for d in view.reconciliation}
    for d in view.days:
        a = d.amounts
        lines.append(f"{d.day.isoformat():<10}  {_num(a.workspace_hours):>9}  "
                     f"{_num(a.ai_credits_used, 2):>10}  {_num(a.cost_usd, 2):>10}  "
                     f"{a.rows:>6,}  {recon.get(d.day, '')}")
    if view.top_customers:
        lines += ["", "Top customers:"]
        lines += [f"  {_num(c.amounts.workspace_hours):>9} h  ${_num(c.amounts.cost_usd, 2):>10}"
                  f"  {one_line(c.name, 40)} ({c.customer_id})" for c in view.top_customers]
    if view.top_workspaces:
        lines += ["", f"Top workspaces ({view.workspaces_with_usage:,} with usage):"]
        lines += [f"  {_num(w.amounts.workspace_hours):>9} h  ${_num(w.amounts.cost_usd, 2):>10}"
                  f"  {one_line(w.name or w.workspace_id, 32)} ({w.workspace_id}, "
                  f"{one_line(w.owner_email, 40)})" for w in view.top_workspaces]
    if view.top_users:
        lines += ["", f"Top users ({view.users_with_usage:,} with usage):"]
        lines += [f"  {_num(u.amounts.workspace_hours):>9} h  ${_num(u.amounts.cost_usd, 2):>10}"
                  f"  {one_line(u.email or u.user_id, 48)} ({u.workspaces} workspace"
                  f"{'s' * (u.workspaces != 1)})" for u in view.top_users]
    if view.diagnosis:
        lines += ["", ("Analytics looks empty?" if view.status == "empty" else
                       "Usage may be incomplete?") + " The playbook's checks:"]
        for f in view.diagnosis:
            mark = "x" if f.holds else " "
            lines.append(f"  [{mark}] {f.reason}: {one_line(f.summary)}")
            lines += [f"        - {one_line(e)}" for e in (f.evidence if f.holds else [])]
    if view.fix is not None:
        lines += ["", f"Nothing to escalate: {view.fix}"]
    if view.escalation is not None:
        esc = view.escalation
        sel = esc["selected_period"]
        lines += ["", "If the period is correct and usage is still missing, send support:",
                  f"  selected period: {sel['from']} to {sel['to']}",
                  f"  visible reconciliation status: {summary or 'none reported'}",
                  "  (`ism-tui usage ... --json` prints the full escalation)"]
    return "\n".join(lines)

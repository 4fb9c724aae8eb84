"""``ism-tui blockers``: the triage queue from the cache (works offline)."""

from __future__ import annotations

import argparse
import sys

import orjson

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--customer", metavar="ID", help="only this customer")
    parser.add_argument("--case", metavar="CASE", help="only this case, e.g. role_not_mapped")
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config import ConfigError
    from ism_tui.services import build_services, freshness_summary
    from ism_tui.triage.playbook import CASES
    from ism_tui.triage.queue import group_by_customer
    from ism_tui.triage.store import list_blockers, routed
    from storage.db import CacheError

    if args.case and args.case not in CASES:
        echo(f"ism-tui blockers: unknown case {args.case!r}; cases: {', '.join(CASES)}", err=True)
        return 2
    try:
        services = build_services(args.profile, args.config)
    except (ConfigError, CacheError) as exc:
        echo(f"ism-tui blockers: {exc}", err=True)
        return 3
    try:
        blockers = routed(services.cache, list_blockers(services.engine, args.customer, args.case),
                          read_only=services.read_only)
        fresh = freshness_summary(services.engine)
    finally:
        services.close()
    if args.json:
        # orjson writes the dataclasses as they are, without ``dataclasses.asdict`` copying
        # every blocker first (``json.dumps`` of those copies was most of the command's time)
        sys.stdout.flush()
        sys.stdout.buffer.write(orjson.dumps(
            {"cache": fresh, "count": len(blockers), "blockers": blockers},
            option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        return 0
    echo(f"{len(blockers)} blocker(s); cache {fresh}")
    for group in group_by_customer(blockers):
        echo(f"\n{group.customer_name or '(no customer)'}")
        for b in group.blockers:
            echo(f"  {b.severity_word:<8} {b.case:<27} {b.subject_name[:28]:<28} {b.id}")
            if b.route is not None:
                echo(f"           next: {b.route.next_step}")
                if b.route.you_can:
                    echo(f"           you can do this now: {b.route.you_can}")
    return 0

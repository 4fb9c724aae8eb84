"""``ism-tui escalate``: a secret-free escalation for one blocker or one customer."""

from __future__ import annotations

import argparse
from pathlib import Path

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blocker_id", nargs="?", metavar="BLOCKER_ID",
                        help="a blocker id from `ism-tui blockers`")
    parser.add_argument("--customer", metavar="ID", help="every blocker of this customer")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config import ConfigError
    from ism_tui.services import build_services, freshness_summary
    from ism_tui.triage.export import escalating, to_json, to_markdown
    from ism_tui.triage.store import get_blocker, list_blockers, routed
    from storage.db import CacheError

    if bool(args.blocker_id) == bool(args.customer):
        echo("ism-tui escalate: give either a BLOCKER_ID or --customer ID", err=True)
        return 2
    try:
        services = build_services(args.profile, args.config)
    except (ConfigError, CacheError) as exc:
        echo(f"ism-tui escalate: {exc}", err=True)
        return 3
    try:
        if args.blocker_id:
            found = get_blocker(services.engine, args.blocker_id)
            blockers = [found] if found else []
        else:
            blockers = list_blockers(services.engine, customer_id=args.customer)
        blockers = routed(services.cache, blockers, read_only=services.read_only)
        if not args.blocker_id:  # a customer's file: what escalates, not what is explained
            blockers = escalating(blockers)
        fresh = freshness_summary(services.engine)
    finally:
        services.close()
    if not blockers:
        what = f"blocker {args.blocker_id!r}" if args.blocker_id else \
            f"blockers for customer {args.customer!r}"
        echo(f"ism-tui escalate: no {what} in the cache; list them with `ism-tui blockers`",
             err=True)
        return 1
    text = (to_json if args.format == "json" else to_markdown)(blockers, freshness=fresh)
    if args.output:
        try:
            from ism_tui.private_files import write_private

            write_private(Path(args.output), text + "\n")
        except OSError as exc:
            echo(f"ism-tui escalate: cannot write {args.output}: {exc.strerror}", err=True)
            return 1
        echo(f"wrote {len(blockers)} escalation(s) to {args.output}", err=True)
    else:
        echo(text)
    return 0

"""``ism-tui escalate``: a secret-free escalation for one blocker, or for a user, workspace or
customer (their blockers in the cache, or an ad-hoc escalation of the matching playbook case
when they have none: someone phoned in)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("blocker_id", nargs="?", metavar="BLOCKER_ID",
                        help="a blocker id from `ism-tui blockers`")
    parser.add_argument("--customer", metavar="ID", help="what this customer (id or name) "
                        "escalates")
    parser.add_argument("--user", metavar="EMAIL", help="this user's (email or id) escalations")
    parser.add_argument("--workspace", metavar="NAME", help="this workspace's (name or id)")
    parser.add_argument("--case", metavar="CASE",
                        help="with --user/--workspace/--customer: an ad-hoc escalation of "
                             "this playbook case, e.g. role_not_mapped")
    parser.add_argument("--format", choices=("md", "json"), default="md")
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config import ConfigError
    from ism_tui.services import build_services, freshness_summary
    from ism_tui.triage.export import escalating, to_json, to_markdown
    from ism_tui.triage.playbook import CASES
    from ism_tui.triage.store import SubjectNotFound, get_blocker, routed, subject_escalations
    from storage.db import CacheError

    subjects = [(k, v) for k, v in (("customer", args.customer), ("user", args.user),
                                    ("workspace", args.workspace)) if v]
    if bool(args.blocker_id) + len(subjects) != 1:
        echo("ism-tui escalate: give one of BLOCKER_ID, --customer ID, --user EMAIL or "
             "--workspace NAME", err=True)
        return 2
    if args.case and (args.case not in CASES or not subjects):
        echo(f"ism-tui escalate: --case goes with --user/--workspace/--customer and is one "
             f"of {', '.join(CASES)}", err=True)
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
            kind, typed = subjects[0]
            try:
                blockers = subject_escalations(services.engine, kind, typed, args.case)
            except SubjectNotFound as exc:
                echo(f"ism-tui escalate: {exc}", err=True)
                return 1
        blockers = routed(services.cache, blockers, read_only=services.read_only)
        if args.customer and not args.case:  # a customer's file: what escalates only
            blockers = escalating(blockers)
        fresh = freshness_summary(services.engine)
    finally:
        services.close()
    if not blockers:
        if args.blocker_id:
            echo(f"ism-tui escalate: no blocker {args.blocker_id!r} in the cache; list them "
                 "with `ism-tui blockers`", err=True)
        else:  # every blocker of the customer is explained, or yours to do
            echo(f"ism-tui escalate: nothing of customer {args.customer!r} escalates; "
                 f"`ism-tui blockers --customer {args.customer}` says who acts next", err=True)
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

"""``ism-tui audit``: the local audit trail of actions tried through ism-tui, newest first.

Reads the cache only. Each attempt shows as one row per outcome (refused, cancelled,
confirmed, succeeded, failed); rows of one attempt share an idempotency key.
Exit codes: 0 shown, 2 bad input, 3 the cache or config cannot be used.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from ism_tui.cli.output import echo

ACTIONS = ("reissue_invite", "retry", "cancel", "start", "stop", "delete")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, metavar="N",
                        help="how many rows to show (default: 50, at most 10000)")
    parser.add_argument("--offset", type=int, default=0, metavar="N",
                        help="skip the N newest rows (paging)")
    parser.add_argument("--action", choices=ACTIONS, help="only this action")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")


def _err(message: str, code: int) -> int:
    echo(f"ism-tui audit: error: {message}", err=True)
    return code


def run(args: argparse.Namespace) -> int:
    if not 1 <= args.limit <= 10_000:
        return _err(f"--limit must be between 1 and 10000, got {args.limit}", 2)
    if args.offset < 0:
        return _err(f"--offset must not be negative, got {args.offset}", 2)
    try:
        from ism_tui.services import build_services

        services = build_services(getattr(args, "profile", None), getattr(args, "config", None),
                                  read_only=True)
    except Exception as exc:  # config/cache errors carry an actionable message
        return _err(str(exc), 3)
    from storage.audit import count_audit, list_audit

    engine = services.engine
    try:
        rows = list_audit(engine, args.limit, args.offset, action=args.action)
        total = count_audit(engine, action=args.action)
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps({"total": total, "offset": args.offset,
                          "rows": [r.as_dict() for r in rows]}, indent=2))
        return 0
    echo(render(rows, total, args.offset))
    return 0


def render(rows: Sequence[Any], total: int, offset: int = 0) -> str:
    """A plain table: time, result, action, target, actor, reason, request id."""
    from ism_tui.text import one_line

    if not rows:
        return "No actions recorded yet." if total == 0 else \
            f"No rows at offset {offset} (the trail has {total})."
    lines = [f"{'Time (UTC)':<19}  {'Result':<9}  {'Action':<14}  {'Target':<28}  "
             f"{'Actor':<30}  Reason"]
    for r in rows:
        target = one_line(f"{r.target_name} ({r.target_id})" if r.target_name else r.target_id,
                          28)
        actor = one_line(f"{r.actor} [{r.actor_role}]" if r.actor_role else r.actor, 30)
        reason = one_line(r.reason, 120)
        if r.request_id:
            reason += f" [request {one_line(r.request_id, 40)}]"
        lines.append(f"{r.time[:19].replace('T', ' '):<19}  {r.result:<9}  {r.action:<14}  "
                     f"{target:<28}  {actor:<30}  {reason}")
    shown_to = offset + len(rows)
    lines.append(f"\n{offset + 1}-{shown_to} of {total} rows, newest first"
                 + (f" (next: --offset {shown_to})" if shown_to < total else ""))
    return "\n".join(lines)

"""``ism-tui triage``: the lead's trail over the queue (state, note, list, handover report).

Works offline: the trail is a local file beside the cache, kept across cache rebuilds.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from ism_tui.cli.output import echo

if TYPE_CHECKING:
    from ism_tui.services import Services


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ism_tui.triage.trail import STATES

    sub = parser.add_subparsers(dest="triage_command", metavar="ACTION", required=True)
    p = sub.add_parser("set", help="record the state of a blocker")
    p.add_argument("blocker_id", metavar="BLOCKER_ID")
    p.add_argument("state", choices=STATES, metavar="STATE", help=", ".join(STATES))
    p.add_argument("--ticket", metavar="REF", help="escalated: the ticket reference")
    p.add_argument("--where", metavar="X",
                   help="escalated: where it went (default: the playbook's escalate-to)")
    p.add_argument("--until", metavar="T", help="snoozed: 30m, 2h, 3d, 1w or an ISO time")
    p = sub.add_parser("note", help="set (or with empty TEXT clear) the note of a blocker")
    p.add_argument("blocker_id", metavar="BLOCKER_ID")
    p.add_argument("text", metavar="TEXT")
    p = sub.add_parser("list", help="the trail of the blockers in the queue")
    p.add_argument("--state", choices=STATES, help="only blockers in this state")
    p.add_argument("--snoozed", action="store_true",
                   help="also the snoozed blockers (left out until their snooze ends, as in "
                        "the Triage tab)")
    p.add_argument("--all", action="store_true",
                   help="also the snoozed blockers and those the Console resolved since")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p = sub.add_parser("report", help="the handover: a session summary (Markdown and JSON)")
    p.add_argument("--since", metavar="T",
                   help="from this ISO time or this long ago (8h, 2d); default: the start of "
                        "the last console session")
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write the Markdown to FILE and the JSON beside it (0600); default: "
                        "print the Markdown")
    p.add_argument("--json", action="store_true", help="print the JSON instead")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config import ConfigError
    from ism_tui.services import build_services
    from storage.db import CacheError
    from storage.trail import TrailError

    try:
        services = build_services(args.profile, args.config)
        services.trail_store  # noqa: B018  (opened now: its errors are config-like)
    except (ConfigError, CacheError, TrailError) as exc:
        echo(f"ism-tui triage: {exc}", err=True)
        return 3
    try:
        return int(_COMMANDS[args.triage_command](services, args))
    finally:
        services.close()


def _known(services: Services, blocker_id: str) -> dict[str, Any] | None:
    from storage.triage_io import blocker_heads

    found = blocker_heads(services.cache, [blocker_id])
    return found[0] if found else None


def _set(services: Services, args: argparse.Namespace) -> int:
    from ism_tui.triage.playbook import CASES
    from ism_tui.triage.trail import TrailInputError

    known = _known(services, args.blocker_id)
    where = args.where
    if args.state == "escalated" and not where and known is not None:
        case = CASES.get(str(known["case"]))
        where = case.escalate_to if case is not None else None
    try:
        mark = services.trail().set_state(args.blocker_id, known, args.state,
                                          ticket=args.ticket, where=where, until=args.until)
    except TrailInputError as exc:
        echo(f"ism-tui triage set: {exc}", err=True)
        return 1 if "no blocker" in str(exc) else 2
    echo(f"{mark['blocker_id']}: {_describe(mark)}")
    return 0


def _note(services: Services, args: argparse.Namespace) -> int:
    from ism_tui.triage.trail import TrailInputError

    try:
        mark = services.trail().set_note(args.blocker_id, _known(services, args.blocker_id),
                                         args.text)
    except TrailInputError as exc:
        echo(f"ism-tui triage note: {exc}", err=True)
        return 1
    echo(f"{mark['blocker_id']}: note {'set' if mark['note'] else 'cleared'}")
    return 0


def _describe(mark: dict[str, Any]) -> str:
    from ism_tui.triage.trail import iso_min

    state = str(mark["state"])
    if state == "escalated":
        state += f" (ticket {mark['ticket']}, to {mark['ticket_where'] or '?'})"
    elif state == "snoozed":
        state += f" until {iso_min(mark['snoozed_until'])}"
    return state


def _list(services: Services, args: argparse.Namespace) -> int:
    import orjson

    from ism_tui.triage.trail import effective_state, hidden_by_snooze

    trail = services.trail()
    now = trail.now()
    marks = trail.store.marks() if args.all else trail.store.marks("present = 1")
    hidden = 0
    if not (args.snoozed or args.all or args.state):  # a state: only that one's marks
        shown = [m for m in marks if not hidden_by_snooze(m, now)]
        hidden, marks = len(marks) - len(shown), shown
    for m in marks:
        m["shows_as"] = effective_state(m, now)
    if args.state:
        marks = [m for m in marks if m["shows_as"] == args.state]
    if args.json:
        sys.stdout.buffer.write(orjson.dumps(
            {"count": len(marks), "snoozed_hidden": hidden, "marks": marks},
            option=orjson.OPT_INDENT_2) + b"\n")
        return 0
    note = f" · {hidden} snoozed hidden (--snoozed shows them)" if hidden else ""
    echo(f"{len(marks)} blocker(s) in the triage trail{note}")
    for m in marks:
        where = "open" if m["present"] else "resolved"
        note = f"  note: {m['note'][:60]}" if m["note"] else ""
        echo(f"  {m['shows_as']:<10} {where:<8} {str(m['customer'] or '')[:20]:<20} "
              f"{m['blocker_id']}  {_describe(m) if m['shows_as'] != 'new' else ''}{note}")
    return 0


def _report(services: Services, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from pathlib import Path

    from ism_tui.services import freshness_summary
    from ism_tui.triage.handover import build_report, save, to_json, to_markdown
    from ism_tui.triage.trail import TrailInputError, parse_ago
    from storage.triage_io import blocker_heads

    trail = services.trail()
    try:
        since = parse_ago(args.since, datetime.now(UTC)) if args.since else None
    except TrailInputError as exc:
        echo(f"ism-tui triage report: {exc}", err=True)
        return 2
    if since is None:
        last = trail.store.last_session()
        since = None if last is None else str(last["started_at"])
    report = build_report(trail, blocker_heads(services.cache), since,
                          freshness_summary(services.cache))
    if args.output:
        try:
            paths = save(report, Path(args.output).expanduser())
        except OSError as exc:
            echo(f"ism-tui triage report: cannot write {args.output}: {exc.strerror}", err=True)
            return 1
        echo(f"wrote the handover to {paths[0]} and {paths[1]}", err=True)
        return 0
    if args.json:
        print(to_json(report))  # json escapes control characters itself
    else:
        echo(to_markdown(report))
    return 0


_COMMANDS = {"set": _set, "note": _note, "list": _list, "report": _report}

"""``ism-tui sync``: pull the Console's state into the local cache.

A progress line per resource on a terminal (plain lines otherwise), then a summary; ``--json``
prints the summary as JSON; ``--json-progress`` prints a JSON line per progress event, then one
with the summary, at a lower CPU priority (how the console runs its sync: ``sync_child``).
Exit 0 on success, 1 if any resource failed, 3 for config errors.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--full", action="store_true",
                        help="re-read everything (default: only what changed since last time)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--json-progress", action="store_true",
                        help="print progress, then the summary, as JSON lines, at a lower CPU "
                        "priority (how the console runs its sync)")
    parser.add_argument("--resource", action="append", metavar="NAME",
                        help="only this resource (repeatable), e.g. workspaces")


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ism_tui.config import ConfigError
    from ism_tui.services import build_services
    from ism_tui.sync import SyncProgress, run_sync
    from storage.db import CacheError

    try:
        services = build_services(args.profile, args.config, read_only=args.read_only)
        services.settings.require_connection()
    except (ConfigError, CacheError) as exc:
        echo(f"ism-tui sync: {exc}", err=True)
        return 3
    if args.json_progress and hasattr(os, "nice"):
        # The console that runs this sync repaints first when the CPUs are busy.
        os.nice(10)
    tty = sys.stderr.isatty() and not (args.json or args.json_progress)
    seen: dict[str, int] = {}

    def progress(p: SyncProgress) -> None:
        if args.json_progress:
            _json_line({"progress": dataclasses.asdict(p)})
            return
        if args.json:
            return
        if p.phase == "page" and not tty:
            return
        seen[p.resource] = p.rows
        total = f"/{p.total:,}" if p.total and not p.done else ""
        state = {"start": "…", "page": "…", "done": "done", "skipped": "skipped",
                 "error": "FAILED"}[p.phase]
        line = f"  {p.resource:<14} {p.rows:>9,}{total} rows  {state}"
        if tty:
            echo(line, end="\n" if p.done else "", err=True, redraw=True, flush=True)
        else:
            echo(line, err=True)

    try:
        report = asyncio.run(run_sync(services, full=args.full, resources=args.resource,
                                      progress=progress))
        # the console that runs a --json-progress sync records it itself, to tell what changed
        if report.ok and not args.json_progress:
            _record_in_trail(services)
    except KeyboardInterrupt:
        echo("\nism-tui sync: interrupted; the cache keeps every page written so far and the "
             "next sync resumes", err=True)
        return 130
    finally:
        services.close()
    if args.json_progress:
        _json_line({"report": report.to_json()})
    elif args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        _summary(report.to_json(), services.settings.cache_path)
    return 0 if report.ok else 1


def _record_in_trail(services: Any) -> None:
    """What the sync changed in the queue, in the lead's triage trail (``ism-tui triage``)."""
    import sqlite3

    from storage.trail import TrailError

    try:
        changes = services.trail().record_cache(services.cache)
    except (sqlite3.Error, TrailError) as exc:
        echo(f"ism-tui sync: the triage trail was not updated: {exc}", err=True)
        return
    if not changes.empty and not changes.baseline:
        echo(f"blockers: {len(changes.appeared)} new, {len(changes.reopened)} reopened, "
             f"{len(changes.worse)} worse, {len(changes.resolved)} resolved", err=True)


def _summary(data: dict[str, Any], cache: object) -> None:
    echo(f"sync {'ok' if data['ok'] else 'FAILED'} in {data['seconds']:.2f} s  (cache {cache})")
    for r in data["resources"]:
        note = r["error"] or r["skipped"] or ""
        extra = f", {r['changed']:,} changed" if r["changed"] is not None else ""
        extra += f", {r['deleted']} deleted" if r["deleted"] else ""
        extra += f", {r['pruned']} pruned" if r["pruned"] else ""
        echo(f"  {r['resource']:<14} {r['mode']:<11} {r['rows']:>9,} rows{extra}  {note}")
        for problem in r["rejected"]:
            echo(f"    left out: {problem}")
    if data["error"]:
        echo(f"error: {data['error']}", err=True)


def _json_line(data: dict[str, Any]) -> None:
    try:
        print(json.dumps(data), flush=True)
    except BrokenPipeError:
        # The console reading these lines is gone: stop now, as a kill would (every page
        # committed so far stays, and the next sync resumes after it).
        os._exit(1)

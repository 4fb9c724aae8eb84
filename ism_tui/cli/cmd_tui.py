"""``ism-tui`` / ``ism-tui tui``: open the console for the active profile."""

from __future__ import annotations

import argparse

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-sync", action="store_true",
                        help="do not sync on start (work from the cache)")
    parser.add_argument("--tab", default="triage",
                        choices=["triage", "accounts", "invites", "workspaces", "analytics"],
                        help="the tab to open on (default: triage)")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config_light import ConfigError
    from ism_tui.services import open_services
    from storage.db import CacheError
    from storage.trail import TrailError

    try:
        services = open_services(args.profile, args.config, read_only=args.read_only)
        services.trail_store  # noqa: B018  (opened now: a broken trail is refused here)
    except (ConfigError, CacheError, TrailError) as exc:
        echo(f"ism-tui: {exc}", err=True)
        return 3
    from ism_tui.app import ISMApp

    app = ISMApp(services, sync_on_start=not args.no_sync, initial_tab=args.tab)
    try:
        app.run()
    finally:
        services.close()
    return app.return_code or 0

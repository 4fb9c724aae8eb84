"""``ism-tui status``: who the token is, and per-resource freshness of the cache (offline)."""

from __future__ import annotations

import argparse
import json

from ism_tui.cli.output import echo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print as JSON")


def run(args: argparse.Namespace) -> int:
    from ism_tui.config import ConfigError
    from ism_tui.services import build_services, freshness
    from storage.db import CacheError

    try:
        services = build_services(args.profile, args.config, read_only=args.read_only)
    except (ConfigError, CacheError) as exc:
        echo(f"ism-tui status: {exc}", err=True)
        return 3
    try:
        me = services.me()
        items = freshness(services.engine)
    finally:
        services.close()
    s = services.settings
    if args.json:
        print(json.dumps({
            "profile": s.profile, "url": s.url, "cache": str(s.cache_path),
            "token_source": s.token_source,
            "me": me.model_dump(mode="json") if me else None,
            "resources": [{"resource": f.resource, "rows": f.rows,
                           "last_success_at": f.last_success_at.isoformat()
                           if f.last_success_at else None,
                           "last_error": f.last_error, "status": f.label} for f in items],
        }, indent=2))
        return 0
    who = (f"{me.name} <{me.email}>, {me.role}"
           + (f" of {me.customer_name}" if me.customer_name else ", all customers")
           if me else "unknown (never synced)")
    echo(f"profile  {s.profile}   url {s.url or '(not set)'}   token from {s.token_source}")
    echo(f"cache    {s.cache_path}")
    echo(f"token is {who}")
    for f in items:
        echo(f"  {f.resource:<14} {f.rows:>9,} rows  {f.label}")
    return 0

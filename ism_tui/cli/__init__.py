"""Command-line entry point: ``ism-tui [COMMAND]``.

Each command lives in its own module ``ism_tui.cli.cmd_<name>`` exposing
``add_arguments(parser)`` and ``run(args) -> int``. Command modules import only the standard
library and ``ism_tui.cli.output`` (every plain line they print goes through its ``echo``) at
module level, so ``--help`` and headless commands start fast; heavy imports (textual, sqlmodel,
httpx) happen inside ``run``. No command means: open the console (``cmd_tui``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ism_tui import __version__
from ism_tui.cli.output import echo

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "tui": ("cmd_tui", "open the console for the active profile (the default)"),
    "demo": ("cmd_demo", "start the simulator with the demo scenario and open the console on it"),
    "sim": ("cmd_sim", "serve the Console API contract from a simulator"),
    "sync": ("cmd_sync", "pull the Console's state into the local cache"),
    "status": ("cmd_status", "show cache freshness per resource"),
    "blockers": ("cmd_blockers", "list blockers found in the cache (the triage queue)"),
    "triage": ("cmd_triage", "the lead's triage trail: state, note, list, handover report"),
    "escalate": ("cmd_escalate", "export a secret-free escalation (Markdown or JSON)"),
    "act": ("cmd_act", "run a guarded action (reissue, retry, cancel, start, stop, delete)"),
    "audit": ("cmd_audit", "show the local audit trail of actions"),
    "usage": ("cmd_usage", "usage totals for a customer and period (CSV or JSON)"),
}


def _common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    default = argparse.SUPPRESS if suppress else None
    parser.add_argument("--profile", default=default, help="config profile (e.g. prod, staging)")
    parser.add_argument("--config", default=default, metavar="FILE", help="config file (TOML)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ism-tui",
        description="Terminal console to run and triage ISM Console.",
    )
    parser.add_argument("--version", action="version", version=f"ism-tui {__version__}")
    _common(parser, suppress=False)
    parser.add_argument(
        "--read-only", action="store_true", default=False, help="refuse every action"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, suppress=True)
        module = importlib.import_module(f"ism_tui.cli.{module_name}")
        module.add_arguments(p)
        p.set_defaults(_module=module)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args([*(argv if argv is not None else sys.argv[1:]), "tui"])
    try:
        return int(args._module.run(args) or 0)
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

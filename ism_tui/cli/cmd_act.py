"""``ism-tui act ACTION TARGET``: run one guarded action, with the TUI's policy and audit.

TARGET is an id (workspace, invite, or build for ``cancel``), a workspace name, or an email
(the invitee for ``reissue_invite``, the owner of exactly one workspace otherwise), resolved
from the local cache. On a terminal the action is confirmed first (``delete``: type the
workspace name) unless ``--yes``. Every attempt is written to the local audit trail.

Exit codes: 0 done, 1 failed (the Console's reason is shown) or cancelled, 2 refused by policy
or bad input, 3 the cache or config cannot be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ism_tui.cli.output import echo

ACTIONS = ("reissue_invite", "retry", "cancel", "start", "stop", "delete")
ALIASES = {"reissue": "reissue_invite", "reissue-invite": "reissue_invite"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", metavar="ACTION",
                        help="one of: " + ", ".join(ACTIONS) + " (reissue = reissue_invite)")
    parser.add_argument("target", metavar="TARGET",
                        help="id, workspace name, or email (see `ism-tui act --help`)")
    parser.add_argument("--yes", "-y", action="store_true",
                        help="do not ask for confirmation (for scripts; still checked and audited)")
    parser.add_argument("--json", action="store_true", help="print the outcome as JSON")


def _err(message: str, code: int) -> int:
    echo(f"ism-tui act: error: {message}", err=True)
    return code


def _ask(prompt: str) -> str | None:
    echo(prompt, end="", flush=True)  # the prompt names the workspace: API text
    try:
        return input()
    except EOFError:
        return None


def _confirm(plan: Any) -> tuple[bool, str | None]:
    """Ask on the terminal; returns (confirmed, typed name)."""
    echo(plan.description, err=True)
    if plan.requires_typed_name:
        typed = _ask(f"{plan.prompt}: ")
        return plan.confirmation_matches(typed), typed
    answer = (_ask("Proceed? [y/N] ") or "").strip().lower()
    return answer in ("y", "yes"), None


def _print_outcome(outcome: Any, plan: Any, as_json: bool) -> None:
    if as_json:
        data: dict[str, Any] = {
            "status": outcome.status, "action": outcome.action, "target_id": outcome.target_id,
            "target_name": plan.subject.name, "customer_id": plan.subject.customer_id,
            "message": outcome.message, "request_id": outcome.request_id,
            "idempotency_key": outcome.idempotency_key if outcome.status in
            ("succeeded", "failed") else None,
        }
        result = outcome.result
        if result is not None:
            if result.build is not None:
                data["build"] = result.build.model_dump(mode="json")
            if result.invite is not None:
                data["invite"] = result.invite.model_dump(mode="json")
        if outcome.error is not None:
            data["error"] = outcome.error.__class__.__name__
        print(json.dumps(data, indent=2))
    else:
        echo(outcome.message)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from ism_tui.actions.service import CONFIRMED_BY_FLAG, ActionError, ActionService
    from ism_tui.actions.targets import TargetError
    from ism_tui.text import one_line

    action = ALIASES.get(args.action, args.action)
    if action not in ACTIONS:
        return _err(f"unknown action {one_line(args.action, 40)!r}: choose one of "
                    f"{', '.join(ACTIONS)}", 2)
    try:
        from ism_tui.services import build_services

        services = build_services(getattr(args, "profile", None), getattr(args, "config", None),
                                  read_only=bool(getattr(args, "read_only", False)))
    except Exception as exc:  # config/cache errors carry an actionable message
        return _err(str(exc), 3)
    try:
        service = ActionService(services)
        try:
            plan = service.plan(action, args.target)
        except TargetError as exc:
            return _err(str(exc), 2)
        except ActionError as exc:
            return _err(str(exc), 3)
        if not plan.allowed:
            _print_outcome(service.refuse(plan), plan, args.json)
            return 2
        typed: str | None = None
        if args.yes:
            confirmed_by = CONFIRMED_BY_FLAG
        elif sys.stdin.isatty():
            ok, typed = _confirm(plan)
            if not ok:
                reason = "the typed name did not match the workspace name" \
                    if plan.requires_typed_name and typed else "cancelled at the confirmation"
                _print_outcome(service.cancel(plan, reason), plan, args.json)
                return 1
            confirmed_by = "terminal prompt"
        else:
            service.cancel(plan, "no terminal to confirm on and no --yes")
            return _err(f"{plan.description}: confirmation needed; run it on a terminal or "
                        "pass --yes", 2)

        def progress(message: str) -> None:
            if not args.json and sys.stderr.isatty():
                echo(f"  {message}…", err=True)

        outcome = asyncio.run(service.execute(plan, confirmed_by, typed_name=typed,
                                              progress=progress))
        _print_outcome(outcome, plan, args.json)
        return {"succeeded": 0, "refused": 2}.get(outcome.status, 1)
    finally:
        dispose = getattr(getattr(services, "engine", None), "dispose", None)
        if dispose is not None:
            dispose()

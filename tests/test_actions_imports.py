"""The actions core, audit and build-log storage never import Textual (or HTTP at import time)."""

from __future__ import annotations

from fresh_python import imports_none_of

MODULES = [
    "ism_tui.actions.policy", "ism_tui.actions.service", "ism_tui.actions.build_logs",
    "ism_tui.actions.targets", "ism_tui.actions.idempotency", "ism_tui.redact",
    "ism_tui.actions.messages", "storage.audit", "storage.build_logs",
    "ism_tui.cli.cmd_act", "ism_tui.cli.cmd_audit",
]


def test_modules_do_not_import_textual_or_httpx() -> None:
    imports_none_of(MODULES, ("textual", "httpx"))


def test_cli_modules_import_only_the_standard_library() -> None:
    imports_none_of(["ism_tui.cli.cmd_act", "ism_tui.cli.cmd_audit"],
                    ("sqlalchemy", "sqlmodel", "pydantic", "orjson"))

"""The actions core, audit and build-log storage never import Textual (or HTTP at import time)."""

from __future__ import annotations

import subprocess
import sys

import pytest

MODULES = [
    "ism_tui.actions.policy", "ism_tui.actions.service", "ism_tui.actions.build_logs",
    "ism_tui.actions.targets", "ism_tui.actions.idempotency", "ism_tui.redact",
    "ism_tui.actions.messages", "storage.audit", "storage.build_logs",
    "ism_tui.cli.cmd_act", "ism_tui.cli.cmd_audit",
]


@pytest.mark.parametrize("module", MODULES)
def test_module_does_not_import_textual_or_httpx(module: str) -> None:
    code = (f"import sys, {module}\n"
            "bad = [m for m in ('textual', 'httpx') if m in sys.modules]\n"
            "assert not bad, bad\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_cli_modules_import_only_the_standard_library() -> None:
    code = ("import sys\nbefore = set(sys.modules)\n"
            "import ism_tui.cli.cmd_act, ism_tui.cli.cmd_audit\n"
            "heavy = [m for m in ('sqlalchemy', 'sqlmodel', 'pydantic', 'orjson') "
            "if m in sys.modules]\nassert not heavy, heavy\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]

"""Running code in a fresh interpreter, for tests of what a module imports or how a process
starts. Every run has a timeout, so a child that hangs fails its test instead of the suite."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 60  # seconds: a fresh interpreter importing the console takes a small part of this


def run(args: Sequence[str], *, env: Mapping[str, str] | None = None,
        timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    """``python ARGS`` from the repository's root, output captured."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def python_ok(code: str, *, env: Mapping[str, str] | None = None) -> str:
    """Run ``code``; it must exit 0 (its asserts hold). Returns what it printed."""
    done = run(["-c", code], env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def imports_none_of(modules: Sequence[str], banned: Sequence[str]) -> None:
    """Importing each of ``modules`` in turn, in one fresh interpreter, loads no module of a
    ``banned`` package (checked after each import, so the failure names the module). A
    ``None`` entry is a blocked import (``ism_tui.api``), not a loaded module."""
    python_ok(
        "import importlib, sys\n"
        f"for name in {list(modules)!r}:\n"
        "    importlib.import_module(name)\n"
        f"    bad = sorted({{m for m, mod in sys.modules.items() if mod is not None\n"
        f"                   and m.split('.')[0] in {tuple(banned)!r}}})\n"
        "    assert not bad, f'{name} imported {bad}'\n"
    )

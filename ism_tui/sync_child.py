"""The console's sync: ``ism-tui sync --json-progress`` in a child process.

Fetching, decoding and writing pages, and the blocker recompute after them, are CPU-bound
Python. Run in a thread of the console they would share its GIL, and a keystroke's repaint
would wait behind them; in a child process they have their own, and the console's event loop
only reads a line of progress per page. The child runs the same sync as the command line,
for the same profile, URL, token and cache as the console (passed in its environment, never
on its command line), and its memory goes back to the system when it ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ism_tui.text import one_line

if TYPE_CHECKING:
    from ism_tui.services import Services
    from ism_tui.sync import SyncProgress

_ROOT = str(Path(__file__).resolve().parents[1])  # the directory holding ism_tui/ and storage/


async def sync_in_child(services: Services, *, full: bool = False,
                        progress: Callable[[SyncProgress], None] | None = None
                        ) -> dict[str, Any]:
    """Sync ``services``' profile in a child process; returns its report
    (``SyncReport.to_json``), or one holding the error if the child could not report.
    Cancelled (the console closing), the child is stopped: the next sync resumes after the
    last page it committed."""
    from ism_tui.sync import SyncProgress

    try:
        command, env = _command(services, full)
        proc = await asyncio.create_subprocess_exec(
            *command, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except Exception as exc:  # ConfigError (no URL or token), OSError
        return _failed(str(exc) or exc.__class__.__name__)
    assert proc.stdout is not None and proc.stderr is not None
    said = asyncio.create_task(proc.stderr.read())
    report: dict[str, Any] | None = None
    try:
        async for line in proc.stdout:
            data = json.loads(line)
            if "progress" in data and progress is not None:
                progress(SyncProgress(**data["progress"]))
            elif "report" in data:
                report = data["report"]
        await proc.wait()
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            await proc.wait()
    if report is not None:
        return report
    lines = (await said).decode(errors="replace").strip().splitlines()
    return _failed(one_line(lines[-1], 300) if lines else
                   f"the sync process ended without a report (exit code {proc.returncode})")


def _command(services: Services, full: bool) -> tuple[list[str], dict[str, str]]:
    settings = services.settings
    url, token = settings.require_connection()
    # -P and PYTHONPATH: the child runs this ism_tui, never one in its working directory.
    command = [sys.executable, "-P", "-m", "ism_tui", "--profile", settings.profile]
    if settings.config_path is not None:
        command += ["--config", str(settings.config_path)]
    command += ["sync", "--json-progress", *(["--full"] if full else [])]
    # The console's own variables, in whatever case, give way to what it resolved.
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("ISM_TUI_")}
    env.update(ISM_TUI_URL=url, ISM_TUI_TOKEN=token, ISM_TUI_CACHE_DIR=str(settings.cache_dir),
               PYTHONPATH=os.pathsep.join(p for p in (_ROOT, env.get("PYTHONPATH")) if p))
    return command, env


def _failed(error: str) -> dict[str, Any]:
    return {"ok": False, "error": error, "errors": [error], "seconds": 0.0, "resources": []}

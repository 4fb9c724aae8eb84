"""The core layers never import Textual (design §7): headless commands stay fast and testable."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import ism_tui
import storage

CORE_PACKAGES = ("ism_tui.api", "ism_tui.triage", "ism_tui.actions", "ism_tui.analytics")
CORE_MODULES = ("ism_tui.text", "ism_tui.config", "ism_tui.sync", "ism_tui.services")


def core_modules() -> list[str]:
    names = [m for m in CORE_MODULES if _exists(m)]
    for pkg in CORE_PACKAGES:
        mod = __import__(pkg, fromlist=["_"])
        names.extend(i.name for i in pkgutil.iter_modules(mod.__path__, pkg + "."))
    names.extend(i.name for i in pkgutil.iter_modules(storage.__path__, "storage."))
    return names


def _exists(name: str) -> bool:
    parent, _, leaf = name.rpartition(".")
    return any(i.name == leaf for i in pkgutil.iter_modules(ism_tui.__path__)) if parent else False


def test_core_modules_do_not_import_textual() -> None:
    modules = core_modules()
    assert len(modules) > 15
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}:\n"
        "    importlib.import_module(m)\n"
        "    bad = [k for k in sys.modules if k == 'textual' or k.startswith('textual.')]\n"
        "    assert not bad, f'{m} pulled in textual'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_cli_help_does_not_import_heavy_layers() -> None:
    code = (
        "import sys\n"
        "from ism_tui import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [k for k in ('textual', 'sqlmodel', 'httpx') if k in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_cache_lists_the_same_resources_as_the_api() -> None:
    from ism_tui.api.models import LIST_RESOURCES
    from storage.sync_state import RESOURCES

    assert RESOURCES == tuple(LIST_RESOURCES)

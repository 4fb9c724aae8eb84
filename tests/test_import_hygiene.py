"""The core layers never import Textual (design §7): headless commands stay fast and testable."""

from __future__ import annotations

import os
import pkgutil

from fresh_python import python_ok

import ism_tui
import storage

CORE_PACKAGES = ("ism_tui.api", "ism_tui.triage", "ism_tui.actions", "ism_tui.analytics")
CORE_MODULES = ("ism_tui.text", "ism_tui.config", "ism_tui.sync", "ism_tui.services",
                "ism_tui.viewer")


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
    python_ok(code)


def test_cli_help_does_not_import_heavy_layers() -> None:
    code = (
        "import sys\n"
        "from ism_tui import cli\n"
        "try:\n    cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [k for k in ('textual', 'sqlmodel', 'httpx') if k in sys.modules]\n"
        "assert not heavy, heavy\n"
    )
    python_ok(code)


def test_the_api_client_imports_no_command_line_libraries() -> None:
    """httpx's own command line (click, pygments) is not imported with httpx (a good part of
    a sync's start-up), and httpx still works."""
    code = (
        "import sys\n"
        "import ism_tui.api.client\n"
        "import httpx\n"
        "assert httpx.Client and httpx.AsyncClient\n"
        "loaded = [k for k in ('click', 'pygments') if k in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    python_ok(code)


def test_the_cache_lists_the_same_resources_as_the_api() -> None:
    from ism_tui.api.models import LIST_RESOURCES
    from storage.sync_state import RESOURCES

    assert RESOURCES == tuple(LIST_RESOURCES)


def test_the_console_paints_before_importing_sqlalchemy_or_pydantic(
        tmp_path, demo_world_session) -> None:
    """SQLAlchemy (~180 ms) and pydantic with pydantic-settings (~130 ms) are over half of the
    console's start-up: the first paint reads the cache through plain sqlite3 and, on a config
    as it was at the last start, the few settings it needs with ``config_light``. It imports
    neither (nor httpx or the wire models); the first start on a config validates it first."""
    from tui_support import make_services

    services = make_services(tmp_path, demo_world_session)  # a current cache, blockers in it
    services.close()
    for tab, start in (("triage", "first"), ("triage", "next"), ("workspaces", "next")):
        code = (
            "import asyncio, sys\n"
            "from pathlib import Path\n"
            "from ism_tui.app import ISMApp\n"
            "from ism_tui.services import open_services\n"
            "from screens.list_pane import ListPane\n"
            f"services = open_services('t', Path({str(tmp_path / 'config.toml')!r}), "
            f"cache_dir=Path({str(tmp_path / 'cache')!r}))\n"
            "async def run():\n"
            f"    app = ISMApp(services, sync_on_start=False, initial_tab={tab!r})\n"
            "    async with app.run_test(size=(160, 48)):\n"
            "        table = app.query(ListPane).first().table\n"
            "        while table.size.height == 0 or not table._counted:\n"
            "            await asyncio.sleep(0.001)\n"
            "        text = ''.join(s.text for y in range(table.size.height)\n"
            "                       for s in table.render_line(y))\n"
            "        heavy = [m for m in ('sqlalchemy', 'httpx', 'ism_tui.api.models',\n"
            "                             'pydantic', 'pydantic_settings') if m in sys.modules]\n"
            "        print(table.total, bool(text.strip()), heavy)\n"
            "asyncio.run(run())\n"
        )
        out = python_ok(code, env={**os.environ, "ISM_TUI_TOKEN": ""})
        total, painted, heavy = out.split(" ", 2)
        assert int(total) > 0 and painted == "True", (tab, out)
        if start == "first":  # no stamp in the cache yet: the config was validated first
            assert heavy.strip() == "['pydantic', 'pydantic_settings']", out
        else:
            assert heavy.strip() == "[]", (tab, out)

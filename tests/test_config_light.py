"""The console's quick start: what it reads of the config without pydantic equals what full
validation finds, it is used only while the config is as last validated, and a config broken
since is still refused (before the console opens, or by the console right after it paints)."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest

from ism_tui.config import load_settings
from ism_tui.config_light import ConfigError, quick_start
from ism_tui.services import open_services

CONFIG = (
    'default_profile = "{default}"\n{top}'
    '[profiles.prod]\nurl = "https://prod.example/api/v2"\n{prod}'
    '[profiles.staging]\nurl = "https://staging.example/api/v2"\nread_only = true\n'
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key in ("ISM_TUI_URL", "ISM_TUI_TOKEN", "ISM_TUI_PROFILE", "ISM_TUI_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.chdir(tmp_path)


def _config(tmp_path: Path, *, default: str = "prod", top: str = "", prod: str = "") -> Path:
    path = tmp_path / "config.toml"
    path.write_text(CONFIG.format(default=default, top=top, prod=prod), encoding="utf-8")
    return path


@pytest.mark.parametrize(("default", "top", "prod", "argument", "env_profile", "env_dir",
                          "arg_dir", "read_only"), list(itertools.product(
    ["prod", "staging"], ["", 'cache_dir = "rel/cache"\n', 'cache_dir = "~/abs-cache"\n'],
    ["", "read_only = false\n", "read_only = true\n"], [None, "staging", "new one"],
    [None, "prod"], [None, "env-cache"], [None, "arg-cache"], [False, True]))[::7])
def test_quick_start_reads_what_validation_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, default: str, top: str, prod: str,
        argument: str | None, env_profile: str | None, env_dir: str | None,
        arg_dir: str | None, read_only: bool) -> None:
    path = _config(tmp_path, default=default, top=top, prod=prod)
    if env_profile:
        monkeypatch.setenv("ISM_TUI_PROFILE", env_profile)
    if env_dir:
        monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / env_dir))
    quick = quick_start(path, profile=argument, cache_dir=arg_dir, read_only=read_only)
    try:
        settings = load_settings(argument, path, cache_dir=arg_dir)
    except ConfigError:  # a profile not in the file: refused, so never stamped
        assert argument == "new one"
        return
    assert quick is not None
    assert (quick.profile, quick.cache_path, quick.read_only) == (
        settings.profile, settings.cache_path, read_only or settings.settings.read_only)


@pytest.mark.parametrize("text", [
    'default_profile = 3\n', '[profiles.prod]\nread_only = "yes"\n', 'profiles = "x"\n',
    "not toml = = =\n", 'cache_dir = ["a"]\n'])
def test_quick_start_leaves_odd_files_to_validation(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    assert quick_start(path, profile="prod") is None


def test_an_empty_or_doubled_variable_is_left_to_validation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path)
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", "")
    assert quick_start(path) is None
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "a"))
    if os.name == "posix":
        monkeypatch.setenv("ism_tui_cache_dir", str(tmp_path / "b"))
        assert quick_start(path) is None


def test_the_console_opens_unvalidated_only_on_the_config_it_last_validated(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _config(tmp_path)
    first = open_services(None, path)
    assert first.settled and first.profile == "prod"  # no stamp yet: validated first
    first.close()
    again = open_services(None, path)
    assert not again.settled and (again.profile, again.read_only) == ("prod", False)
    assert again.settings.url == "https://prod.example/api/v2" and again.settled
    again.close()
    # anything validation depends on changes: validated first again
    monkeypatch.setenv("ISM_TUI_URL", "https://elsewhere.example/api/v2")
    moved = open_services(None, path)
    assert moved.settled and moved.settings.url == "https://elsewhere.example/api/v2"
    moved.close()
    assert not open_services(None, path).settled  # ... and stamped for the next start
    staging = open_services("staging", path)  # another profile: its own cache, not stamped
    assert staging.settled and staging.read_only
    staging.close()
    careful = open_services(None, path, read_only=True)  # --read-only needs no validation
    assert not careful.settled and careful.read_only
    assert careful.settings.profile == "prod" and careful.read_only
    careful.close()


def test_a_config_broken_since_the_last_start_is_refused_before_the_console_opens(
        tmp_path: Path) -> None:
    path = _config(tmp_path)
    open_services(None, path).close()
    stat = path.stat()
    path.write_text(CONFIG.format(default="prod", top="", prod="page_size = 0\n"),
                    encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with the old mtime
    with pytest.raises(ConfigError, match=r"page_size.*greater than or equal to 1"):
        open_services(None, path)


def test_a_config_changed_while_the_console_starts_stops_it_with_the_reason(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    from tui_support import frozen

    from ism_tui.app import ISMApp

    path = _config(tmp_path)
    open_services(None, path).close()
    services = open_services(None, path)
    assert not services.settled
    path.write_text(CONFIG.format(default="prod", top="", prod="page_size = 0\n"),
                    encoding="utf-8")

    async def run() -> ISMApp:
        app = ISMApp(services, clock=frozen, sync_on_start=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.pause()
        return app

    app = asyncio.run(run())
    services.close()
    assert app.return_code == 3
    said = " ".join(capfd.readouterr().err.split())
    assert "ism-tui:" in said and "'profiles.prod.page_size'" in said, said


def test_the_default_config_path_is_read_alike(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    quick, settings = quick_start(None), load_settings(None)  # no file at all yet
    assert quick is not None and (quick.profile, quick.cache_path) == (
        settings.profile, settings.cache_path)
    path = tmp_path / "xdg-config" / "ism-tui" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG.format(default="staging", top="", prod=""), encoding="utf-8")
    quick, settings = quick_start(None), load_settings(None)
    assert quick is not None and quick.profile == settings.profile == "staging"
    assert quick.cache_path == settings.cache_path and quick.read_only
    first = open_services()
    assert first.settled
    first.close()
    again = open_services()
    assert not again.settled and again.settings.config_path == path
    again.close()

"""What the console needs of the config to paint, read without pydantic.

Validating the config (``ism_tui.config``, pydantic-settings) imports ~130 ms of modules, a
quarter of the console's start-up. To paint, the console needs only the profile's name, its
cache file and whether it is read-only. So each full validation records a *stamp* of its inputs
in the cache (the config file's identity, size and modification time, the ``ISM_TUI_*``
variables and the arguments it depends on). When the stamp still matches, ``quick_start`` reads
those three values with ``tomllib`` and the console validates in full just after its first
paint. Any change (file edited, another variable or argument) means no match: the config is
validated first, as before, so a broken config is still refused before the console opens.

The rules for the profile name and the cache file live here once; ``ism_tui.config`` uses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

APP_NAME = "ism-tui"
STAMP_KEY = "config_stamp"
# The variables a validation depends on, besides the file (the token's problems are reported
# when the Console is first called, never at start-up).
ENV_KEYS = ("ISM_TUI_URL", "ISM_TUI_PROFILE", "ISM_TUI_CACHE_DIR")


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, key, expected and found."""


def default_config_path() -> Path:
    from platformdirs import user_config_path

    return user_config_path(APP_NAME) / "config.toml"


def default_cache_dir() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path(APP_NAME)


def profile_name(argument: str | None, env_profile: str | None, file_default: str) -> str:
    """--profile, else ISM_TUI_PROFILE, else the file's default_profile."""
    return argument or env_profile or file_default


def cache_directory(argument: Path | str | None, env_dir: Path | str | None,
                    file_dir: Path | str | None) -> Path:
    return Path(argument or env_dir or file_dir or default_cache_dir()).expanduser()


def cache_file(directory: Path, profile: str) -> Path:
    """One database per profile: ``<cache dir>/<profile>.sqlite3`` (name made file-safe)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in profile)
    return directory / f"{safe}.sqlite3"


@dataclass(frozen=True)
class QuickStart:
    profile: str
    cache_path: Path
    read_only: bool
    stamp: str


def _environment() -> dict[str, str] | None:
    """The ISM_TUI_* variables validation reads (pydantic-settings matches them whatever their
    case); None when one is set twice in different cases (which one wins is not ours) or
    empty."""
    found: dict[str, str] = {}
    for key, value in os.environ.items():
        upper = key.upper()
        if upper in ENV_KEYS:
            if upper in found or not value:  # twice, or empty (pydantic reads "" as a value)
                return None
            found[upper] = value
    return found


def _stamp(path: Path, explicit: bool, env: dict[str, str], profile: str | None,
           url: str | None, cache_dir: Path | str | None) -> str | None:
    """A digest of everything a validation of these inputs depends on (None if unknown)."""
    try:
        info = path.stat()
        identity: list[Any] = [info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns,
                               info.st_ctime_ns]
    except FileNotFoundError:
        identity = ["missing"]
    except OSError:
        return None
    inputs = [str(path), explicit, identity, profile, url,
              None if cache_dir is None else str(cache_dir), sorted(env.items())]
    return hashlib.sha256(json.dumps(inputs).encode()).hexdigest()


def quick_start(config_path: Path | str | None, *, profile: str | None = None,
                url: str | None = None, cache_dir: Path | str | None = None,
                read_only: bool = False) -> QuickStart | None:
    """The profile, cache file and read-only flag, read without validating, with the stamp of
    their inputs (None when they cannot be read this way: they are then left to
    ``ism_tui.config``, which explains why)."""
    env = _environment()
    if env is None:
        return None
    path = Path(config_path).expanduser() if config_path else default_config_path()
    digest = _stamp(path, config_path is not None, env, profile, url, cache_dir)
    if digest is None:
        return None
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            return None
    elif config_path is not None:
        return None  # validation says the file is missing
    default = data.get("default_profile", "default")
    file_dir = data.get("cache_dir")
    profiles = data.get("profiles", {})
    if not isinstance(default, str) or not isinstance(file_dir, str | None) \
            or not isinstance(profiles, dict):
        return None
    name = profile_name(profile, env.get("ISM_TUI_PROFILE"), default)
    section = profiles.get(name, {})
    flag = section.get("read_only", False) if isinstance(section, dict) else None
    if not isinstance(flag, bool):
        return None
    directory = cache_directory(cache_dir, env.get("ISM_TUI_CACHE_DIR"), file_dir)
    return QuickStart(name, cache_file(directory, name), read_only or flag, digest)

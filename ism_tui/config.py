"""Settings: a TOML file with named profiles, environment overrides, and the token's sources.

Resolution for each value: explicit argument (e.g. ``ism-tui demo``) > environment
(``ISM_TUI_URL``, ``ISM_TUI_TOKEN``, ``ISM_TUI_PROFILE``, ``ISM_TUI_CACHE_DIR``) > the profile's
section in the file > defaults. The token is never read from the config file: it comes from
``ISM_TUI_TOKEN``, a token file only its owner can read (refused otherwise, as ssh does), or the
OS keyring.
"""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ism_tui.api.address import normalise_base_url
from ism_tui.config_light import APP_NAME as APP_NAME
from ism_tui.config_light import ConfigError as ConfigError
from ism_tui.config_light import cache_directory, cache_file, profile_name
from ism_tui.config_light import default_cache_dir as default_cache_dir
from ism_tui.config_light import default_config_path as default_config_path
from ism_tui.redact import register_secret

KEYRING_SERVICE = "ism-tui"


class ProfileSettings(BaseModel):
    """One Console to talk to (``[profiles.NAME]``)."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    """The Console's address, e.g. https://console.example.com (the API is under /api/v2 there,
    which ism-tui adds), or the API's base URL itself when it is served under another path."""
    token_file: Path | None = None
    """File holding the API token; must not be readable by group or others (chmod 600)."""
    keyring: bool = False
    """Read the token from the OS keyring (service "ism-tui", user = the profile name)."""
    connect_timeout: float = Field(5.0, gt=0, le=120)
    """Seconds to wait for a connection."""
    read_timeout: float = Field(30.0, gt=0, le=600)
    """Seconds to wait for a response."""
    page_size: int = Field(5000, ge=1, le=5000)
    """Objects per page when syncing (the contract allows 1..5000). Fewer, larger pages cost
    less per object, at the same peak memory."""
    concurrency: int = Field(4, ge=1, le=16)
    """Resources fetched at the same time during a sync."""
    sync_interval: int = Field(0, ge=0)
    """Seconds between background syncs in the console; 0 turns them off."""
    stale_after: int = Field(300, ge=0)
    """Seconds after which the cache counts as stale (synced on start, shown in the header)."""
    read_only: bool = False
    """Refuse every action from this profile."""
    export_dir: Path | None = None
    """Where escalations and exports are written (default: ~/ism-tui-exports)."""
    bell_on_critical: bool = False
    """Ring the terminal bell, besides the toast, when a sync in the open console finds a new
    (or reopened) critical blocker."""


class FileConfig(BaseModel):
    """The config file's top level."""

    model_config = ConfigDict(extra="forbid")

    default_profile: str = "default"
    """Profile used when neither --profile nor ISM_TUI_PROFILE is given."""
    cache_dir: Path | None = None
    """Directory of the cache databases (one per profile)."""
    profiles: dict[str, ProfileSettings] = Field(default_factory=dict)


class EnvOverrides(BaseSettings):
    """The environment variables ism-tui reads."""

    model_config = SettingsConfigDict(env_prefix="ISM_TUI_", extra="ignore")

    url: str | None = None
    token: SecretStr | None = None
    profile: str | None = None
    cache_dir: Path | None = None


class Settings(BaseModel):
    """Everything resolved for one profile."""

    profile: str
    config_path: Path | None
    settings: ProfileSettings
    url: str | None
    token: SecretStr | None = Field(default=None, repr=False)
    token_source: str = "none"
    token_error: str | None = None
    cache_dir: Path

    @property
    def cache_path(self) -> Path:
        return cache_file(self.cache_dir, self.profile)

    @property
    def export_dir(self) -> Path:
        return (self.settings.export_dir or Path.home() / "ism-tui-exports").expanduser()

    def require_connection(self) -> tuple[str, str]:
        """URL and token for talking to the Console, or a ConfigError saying what to set."""
        where = f"[profiles.{self.profile}] of {self.config_path}" if self.config_path else \
            "a config file (see config.example.toml)"
        if not self.url:
            raise ConfigError(f"no Console URL for profile {self.profile!r}: set url in {where} "
                              "or ISM_TUI_URL")
        if self.token_error:
            raise ConfigError(self.token_error)
        if self.token is None:
            raise ConfigError(
                f"no API token for profile {self.profile!r}: set ISM_TUI_TOKEN, or token_file "
                f"in {where} (a file only you can read: chmod 600), or keyring = true")
        return self.url, self.token.get_secret_value()


def load_settings(profile: str | None = None, config_path: Path | str | None = None, *,
                  url: str | None = None, token: str | None = None,
                  cache_dir: Path | str | None = None) -> Settings:
    """Resolve the settings of ``profile``; raises ConfigError with an actionable message."""
    env = EnvOverrides()
    explicit = config_path is not None
    path = Path(config_path).expanduser() if config_path else default_config_path()
    file_cfg, used_path = _read_file(path, explicit)
    name = profile_name(profile, env.profile, file_cfg.default_profile)
    if name not in file_cfg.profiles and (profile or env.profile) and file_cfg.profiles:
        known = ", ".join(sorted(file_cfg.profiles))
        raise ConfigError(f"profile {name!r} is not defined in {used_path}: known profiles are "
                          f"{known}; add a [profiles.{name}] section")
    prof = file_cfg.profiles.get(name, ProfileSettings())
    resolved_url = url or env.url or prof.url
    if resolved_url is not None:
        resolved_url = _check_url(resolved_url, used_path, name)
    # A token problem only matters when talking to the Console: offline reads still work.
    try:
        secret, source, token_error = *_token(name, prof, used_path, token, env), None
    except ConfigError as exc:
        secret, source, token_error = None, "none", str(exc)
    if secret is not None:
        register_secret(secret.get_secret_value())
    return Settings(profile=name, config_path=used_path, settings=prof, url=resolved_url,
                    token=secret, token_source=source, token_error=token_error,
                    cache_dir=cache_directory(cache_dir, env.cache_dir, file_cfg.cache_dir))


def _read_file(path: Path, explicit: bool) -> tuple[FileConfig, Path | None]:
    if not path.exists():
        if explicit:
            raise ConfigError(f"config file {path} does not exist; copy config.example.toml "
                              "there or drop --config")
        return FileConfig(), None
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    _refuse_plain_tokens(data, path)
    try:
        return FileConfig.model_validate(data), path
    except ValidationError as exc:
        raise ConfigError(_explain(exc, path)) from None


def _refuse_plain_tokens(data: dict[str, Any], path: Path) -> None:
    sections = [("", data)] + [(f"profiles.{k}.", v) for k, v in
                               (data.get("profiles") or {}).items() if isinstance(v, dict)]
    for prefix, section in sections:
        if "token" in section:
            raise ConfigError(
                f"{path}: key '{prefix}token' is not allowed: a token is never read from the "
                "config file. Put it in ISM_TUI_TOKEN, in a file named by token_file (chmod "
                "600), or in the OS keyring (keyring = true)")


def _explain(exc: ValidationError, path: Path) -> str:
    lines = []
    for err in exc.errors()[:5]:
        key = ".".join(str(p) for p in err["loc"])
        found = err.get("input")
        shown = repr(found) if not isinstance(found, dict) else "a table"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}' (found {shown[:60]}); see config.example.toml "
                         "for the settings")
        else:
            lines.append(f"key '{key}': expected {err['msg'].lower()}, found {shown[:60]}")
    return f"{path}: " + "; ".join(lines)


def _check_url(value: str, path: Path | None, profile: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        where = f"{path} [profiles.{profile}] url" if path else "ISM_TUI_URL"
        raise ConfigError(f"{where}: expected an http(s) URL like https://console.example.com/"
                          f"api/v2, found {value[:80]!r}")
    if parts.username or parts.password:
        raise ConfigError("the Console URL must not hold a user or password; use a token")
    if parts.query or parts.fragment:
        where = f"{path} [profiles.{profile}] url" if path else "ISM_TUI_URL"
        raise ConfigError(f"{where}: the Console URL must not hold a query or fragment (?, #); "
                          "expected e.g. https://console.example.com")
    return normalise_base_url(value)


def _token(profile: str, prof: ProfileSettings, path: Path | None, explicit: str | None,
           env: EnvOverrides) -> tuple[SecretStr | None, str]:
    if explicit:
        return SecretStr(explicit), "argument"
    if env.token is not None and env.token.get_secret_value():
        return env.token, "ISM_TUI_TOKEN"
    if prof.token_file is not None:
        file = prof.token_file.expanduser()
        if not file.is_absolute() and path is not None:
            file = path.parent / file
        return SecretStr(read_token_file(file)), f"token file {file}"
    if prof.keyring:
        value = _keyring_token(profile)
        if value:
            return SecretStr(value), "keyring"
    return None, "none"


def read_token_file(file: Path) -> str:
    """The token in ``file``; refused if group or others may read it (like ssh's key check)."""
    try:
        info = file.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read token file {file}: {exc.strerror}") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(f"token file {file} is readable by group or others (mode "
                          f"{stat.S_IMODE(info.st_mode):03o}); refusing it. Run: chmod 600 {file}")
    value = file.read_text(encoding="utf-8").strip()
    if not value:
        raise ConfigError(f"token file {file} is empty")
    return value


def _keyring_token(profile: str) -> str | None:
    try:
        import keyring
    except ImportError:
        raise ConfigError("keyring = true but the keyring package is not installed: "
                          "pip install 'ism-tui[keyring]', or use ISM_TUI_TOKEN") from None
    try:
        value: str | None = keyring.get_password(KEYRING_SERVICE, profile)
    except Exception as exc:  # no backend on a headless host
        raise ConfigError(f"the OS keyring is not usable here ({exc.__class__.__name__}); use "
                          "ISM_TUI_TOKEN or a token file") from None
    return value

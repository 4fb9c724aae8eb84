"""One factory for what every front end needs: settings, the cache engine, an API client.

The headless commands call ``build_services``; the console calls ``open_services`` (the same
services, its config validated just after the first paint when unchanged since the last start).
Nothing is created at import.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ism_tui.config_light import STAMP_KEY, ConfigError, quick_start
from ism_tui.redact import scrub
from ism_tui.viewer import Viewer
from storage.db import Cache, get_meta, set_meta
from storage.stamps import parse_iso
from storage.sync_state import RESOURCES, all_states

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ism_tui.api.client import ClientOptions, ConsoleClient
    from ism_tui.api.models import Me
    from ism_tui.config import Settings
    from ism_tui.triage.trail import Trail
    from storage.trail import TrailStore


class Services:
    """Settings, the cache and an API client for one profile.

    ``settings`` may be validated later than the rest: the console opens on what
    ``config_light`` read without pydantic, and the first use of ``settings`` validates the
    config in full (``open_services``)."""

    def __init__(self, settings: Settings | None, profile: str, cache: Cache,
                 read_only: bool = False, *, load: Callable[[], Settings] | None = None,
                 read_only_argument: bool = False) -> None:
        if settings is None and load is None:
            raise ValueError("settings or a way to load them")
        self._settings = settings
        self._load = load
        self._read_only_argument = read_only_argument
        self._settling = threading.Lock()
        self.profile = profile
        self.cache = cache  # reads without SQLAlchemy; ``engine`` is made on first use
        self.read_only = read_only
        self._trail_store: TrailStore | None = None
        self._opening = threading.Lock()
        self.transport: Any = None  # tests: an httpx transport
        self.retry: Any = None  # tests: a faster RetryPolicy

    def __repr__(self) -> str:
        return f"Services(profile={self.profile!r}, cache={self.cache.path})"

    @property
    def settings(self) -> Settings:
        """The validated settings (validated now if the console opened before validating)."""
        with self._settling:
            if self._settings is None:
                assert self._load is not None
                settings = self._load()
                read_only = self._read_only_argument or settings.settings.read_only
                if (settings.profile, settings.cache_path, read_only) != (
                        self.profile, self.cache.path, self.read_only):
                    raise ConfigError("the configuration changed while ism-tui was starting; "
                                      "start it again")
                self._settings = settings
            return self._settings

    @property
    def settled(self) -> bool:
        """Whether ``settings`` is validated already."""
        return self._settings is not None

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[ConsoleClient]:
        """A client for this profile's Console (ConfigError if the URL or token is missing)."""
        from ism_tui.api.client import ConsoleClient

        url, token = self.settings.require_connection()
        async with ConsoleClient(url, token, self.client_options(),
                                 transport=self.transport) as client:
            yield client

    def client_options(self) -> ClientOptions:
        from ism_tui.api.client import ClientOptions

        prof = self.settings.settings
        options = ClientOptions(profile=self.profile, connect_timeout=prof.connect_timeout,
                                read_timeout=prof.read_timeout)
        if self.retry is not None:
            options.retry = self.retry
        return options

    def me(self) -> Me | None:
        """Who the token is, as last recorded by a sync (None before the first sync)."""
        from ism_tui.api.models import Me

        raw = get_meta(self.cache, "me")
        return Me.model_validate_json(raw) if raw else None

    def who(self) -> Viewer | None:
        """Who the token is, for the header (None before the first sync): read without the
        wire models, which start-up need not import before the first paint."""
        raw = get_meta(self.cache, "me")
        return Viewer.from_meta(raw) if raw else None

    @property
    def engine(self) -> Engine:
        return self.cache.engine

    @property
    def trail_store(self) -> TrailStore:
        """The lead's triage trail beside the cache (opened on first use; it outlives any
        cache rebuild)."""
        with self._opening:
            if self._trail_store is None:
                from storage.trail import TrailStore, trail_path

                self._trail_store = TrailStore(trail_path(self.cache.path))
            return self._trail_store

    def trail(self, clock: Callable[[], datetime] | None = None) -> Trail:
        from ism_tui.triage.trail import Trail

        return Trail(self.trail_store, self.lead, clock or (lambda: datetime.now(UTC)))

    def lead(self) -> str:
        """Who is triaging: the token's email once a sync recorded it, else the local user."""
        who = self.who()
        if who is not None and who.email:
            return who.email
        import getpass

        try:
            return getpass.getuser()
        except (KeyError, OSError):
            return "local user"

    def close(self) -> None:
        if self._trail_store is not None:
            self._trail_store.close()
        self.cache.dispose()


def build_services(profile: str | None = None, config_path: Path | str | None = None, *,
                   read_only: bool = False, url: str | None = None, token: str | None = None,
                   cache_dir: Path | str | None = None) -> Services:
    """Settings for ``profile`` (validated) plus its cache, opened (schema ensured)."""
    from ism_tui.config import load_settings

    settings = load_settings(profile, config_path, url=url, token=token, cache_dir=cache_dir)
    return Services(settings, settings.profile, Cache(settings.cache_path),
                    read_only or settings.settings.read_only, read_only_argument=read_only)


def open_services(profile: str | None = None, config_path: Path | str | None = None, *,
                  read_only: bool = False, url: str | None = None, token: str | None = None,
                  cache_dir: Path | str | None = None) -> Services:
    """``build_services`` for the console: when the config and environment are as they were at
    the last full validation (a stamp in the cache), the services open on what
    ``config_light`` reads without pydantic, and ``settings`` is validated on first use (the
    console does it after its first paint). Otherwise the config is validated first and, if
    ``config_light`` reads it alike, its stamp recorded for the next start."""
    quick = quick_start(config_path, profile=profile, url=url, cache_dir=cache_dir,
                        read_only=read_only)
    if quick is not None and quick.cache_path.exists():
        cache = Cache(quick.cache_path)
        if get_meta(cache, STAMP_KEY) == quick.stamp:
            def load() -> Settings:
                from ism_tui.config import load_settings

                return load_settings(profile, config_path, url=url, token=token,
                                     cache_dir=cache_dir)

            return Services(None, quick.profile, cache, quick.read_only, load=load,
                            read_only_argument=read_only)
        cache.dispose()
    services = build_services(profile, config_path, read_only=read_only, url=url, token=token,
                              cache_dir=cache_dir)
    if quick is not None and (quick.profile, quick.cache_path, quick.read_only) == (
            services.profile, services.cache.path, services.read_only):
        set_meta(services.cache, STAMP_KEY, quick.stamp)
    return services


@dataclass
class ResourceFreshness:
    resource: str
    rows: int
    last_success_at: datetime | None
    last_error: str | None
    age_seconds: float | None

    @property
    def label(self) -> str:
        if self.last_error == "not permitted for this role":
            return "not available for this role"
        if self.last_error:
            return f"last sync failed: {self.last_error}"
        if self.last_success_at is None:
            return "never synced"
        return f"synced {humanize_age(self.age_seconds or 0)}"


def humanize_age(seconds: float) -> str:
    if seconds < 45:
        return "just now"
    if seconds < 90 * 60:
        return f"{max(1, round(seconds / 60))} min ago"
    if seconds < 36 * 3600:
        return f"{round(seconds / 3600)} h ago"
    return f"{round(seconds / 86400)} days ago"


def freshness(engine: Engine | Cache, now: datetime | None = None) -> list[ResourceFreshness]:
    """Freshness of every mirrored resource, in a stable order."""
    now = now or datetime.now(UTC)
    states = all_states(engine)
    out = []
    for resource in RESOURCES:
        st = states.get(resource)
        when = parse_iso(st.last_success_at) if st else None
        out.append(ResourceFreshness(
            resource, st.row_count if st else 0, when,
            scrub(st.last_error) if st and st.last_error else None,
            (now - when).total_seconds() if when else None))
    return out


def oldest_success(engine: Engine | Cache) -> datetime | None:
    """When the stalest resource last synced (None if any never did)."""
    items = [f for f in freshness(engine) if f.last_error != "not permitted for this role"]
    if not items or any(f.last_success_at is None for f in items):
        return None
    return min(f.last_success_at for f in items if f.last_success_at is not None)


def freshness_summary(engine: Engine | Cache, now: datetime | None = None) -> str:
    """One line for headers and exports: "synced 2026-11-24T09:14Z (3 min ago)"."""
    when = oldest_success(engine)
    if when is None:
        return "never fully synced"
    now = now or datetime.now(UTC)
    stamp = when.isoformat(timespec="minutes").replace("+00:00", "Z")
    return f"synced {stamp} ({humanize_age((now - when).total_seconds())})"

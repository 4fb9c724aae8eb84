"""One factory for what every front end needs: settings, the cache engine, an API client.

The TUI and the headless commands both call ``build_services``; nothing is created at import.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ism_tui.config import Settings, load_settings
from storage.dbapi import Cache

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from ism_tui.api.client import ConsoleClient
    from ism_tui.api.models import Me
    from ism_tui.viewer import Viewer


@dataclass
class Services:
    settings: Settings
    profile: str
    cache: Cache  # reads without SQLAlchemy; ``engine`` is made on first use
    read_only: bool = False
    transport: Any = field(default=None, repr=False)  # tests: an httpx transport
    retry: Any = field(default=None, repr=False)  # tests: a faster RetryPolicy

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[ConsoleClient]:
        """A client for this profile's Console (ConfigError if the URL or token is missing)."""
        from ism_tui.api.client import ClientOptions, ConsoleClient

        url, token = self.settings.require_connection()
        prof = self.settings.settings
        options = ClientOptions(profile=self.profile, connect_timeout=prof.connect_timeout,
                                read_timeout=prof.read_timeout)
        if self.retry is not None:
            options.retry = self.retry
        async with ConsoleClient(url, token, options, transport=self.transport) as client:
            yield client

    def me(self) -> Me | None:
        """Who the token is, as last recorded by a sync (None before the first sync)."""
        from ism_tui.api.models import Me
        from storage.db import get_meta

        raw = get_meta(self.cache, "me")
        return Me.model_validate_json(raw) if raw else None

    def who(self) -> Viewer | None:
        """Who the token is, for the header (None before the first sync): read without the
        wire models, which start-up need not import (~20 ms) before the first paint."""
        from ism_tui.viewer import Viewer
        from storage.db import get_meta

        raw = get_meta(self.cache, "me")
        return Viewer.from_meta(raw) if raw else None

    @property
    def engine(self) -> Engine:
        return self.cache.engine

    def close(self) -> None:
        self.cache.dispose()


def build_services(profile: str | None = None, config_path: Path | str | None = None, *,
                   read_only: bool = False, url: str | None = None, token: str | None = None,
                   cache_dir: Path | str | None = None) -> Services:
    """Settings for ``profile`` plus its cache, opened (schema ensured)."""
    settings = load_settings(profile, config_path, url=url, token=token, cache_dir=cache_dir)
    return Services(settings=settings, profile=settings.profile,
                    cache=Cache(settings.cache_path),
                    read_only=read_only or settings.settings.read_only)


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
    from storage.rows import parse_iso
    from storage.sync_state import RESOURCES, all_states

    now = now or datetime.now(UTC)
    states = all_states(engine)
    out = []
    for resource in RESOURCES:
        st = states.get(resource)
        when = parse_iso(st.last_success_at) if st else None
        out.append(ResourceFreshness(
            resource, st.row_count if st else 0, when, st.last_error if st else None,
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

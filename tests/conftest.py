"""Shared fixtures: a frozen clock, the demo World, and a cache loaded with it (no HTTP)."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

# The frozen "now" of every test that uses the demo scenario (snapshots depend on it).
FROZEN_NOW = datetime(2026, 11, 24, 9, 30, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def demo_world_session():
    from ism_tui.sim.scenarios import build_world

    return build_world("demo", now=FROZEN_NOW, seed=7)


@pytest.fixture
def demo_world():
    """A fresh demo World (tests may mutate it)."""
    from ism_tui.sim.scenarios import build_world

    return build_world("demo", now=FROZEN_NOW, seed=7)


def load_world_into_cache(engine, world, token: str = "demo-operator") -> None:
    """Fill a cache from a World as a full sync by ``token`` would (operator: everything)."""
    from ism_tui.api.models import LIST_RESOURCES
    from storage.load import load_build_logs, load_wire, set_me

    me = world.tokens[token]
    scope = me.get("customer_id")
    for resource in LIST_RESOURCES:
        objs = list(world.collection(resource).values())
        if scope is not None and resource == "customers":
            objs = [o for o in objs if o["id"] == scope]
        elif scope is not None and resource not in ("targets", "templates"):
            objs = [o for o in objs if o.get("customer_id") == scope]
        load_wire(engine, resource, objs)
    logs = [line for lines in world.build_logs.values() for line in lines]
    load_build_logs(engine, logs)
    set_me(engine, me)


@pytest.fixture(scope="session")
def demo_cache_file(tmp_path_factory: pytest.TempPathFactory, demo_world_session) -> Path:
    """The demo scenario loaded into a cache file once per test process (to copy, not to
    change)."""
    from storage.db import make_engine

    path = tmp_path_factory.mktemp("demo-cache") / "cache.sqlite"
    engine = make_engine(path)
    load_world_into_cache(engine, demo_world_session)
    engine.dispose()
    return path


@pytest.fixture
def demo_engine(tmp_path: Path, demo_cache_file: Path):
    """A cache file of its own holding the whole demo scenario as the operator sees it."""
    from storage.db import make_engine

    path = tmp_path / "cache.sqlite"
    with closing(sqlite3.connect(demo_cache_file)) as src, closing(sqlite3.connect(path)) as dst:
        src.backup(dst)
    engine = make_engine(path)
    yield engine
    engine.dispose()

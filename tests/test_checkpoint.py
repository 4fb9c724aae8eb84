"""WAL checkpoints run beside a sync's writer; the WAL ends copied back and nothing is lost."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from conftest import FROZEN_NOW

from ism_tui.sim.testing import running_simulator
from storage.checkpoint import Checkpointer
from storage.dbapi import connect


def _wal_pending(path: Path) -> tuple[int, int]:
    """(frames in the WAL, frames already copied into the database)."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        _busy, log, done = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log, done
    finally:
        db.close()


def test_the_checkpointer_copies_the_wal_back_while_the_writer_never_does(tmp_path: Path
                                                                          ) -> None:
    path = tmp_path / "cache.sqlite3"
    writer = connect(path)
    writer.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
    checkpointer = Checkpointer(path, interval=0.01)
    checkpointer.start(writer)
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    for _ in range(40):  # 40 commits of ~100 pages each
        writer.execute("BEGIN")
        writer.executemany("INSERT INTO t (body) VALUES (?)",
                           [("x" * 400,) for _ in range(1000)])
        writer.execute("COMMIT")
    checkpointer.stop()
    assert checkpointer.checkpoints > 0
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    log, done = _wal_pending(path)
    assert log == done  # everything committed is in the database file
    assert writer.execute("SELECT COUNT(*) FROM t").fetchone()[0] == 40_000
    assert writer.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    writer.close()


def test_a_checkpointer_that_cannot_open_the_file_still_gives_the_writer_back(tmp_path: Path
                                                                              ) -> None:
    writer = connect(tmp_path / "cache.sqlite3")
    checkpointer = Checkpointer(tmp_path / "missing" / "dir" / "x.sqlite3", interval=0.01)
    checkpointer.start(writer)
    checkpointer.stop()
    assert checkpointer.checkpoints == 0
    assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    writer.close()


def test_a_sync_checkpoints_beside_its_writer_and_gives_it_back(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from ism_tui.services import build_services
    from ism_tui.sync import _CHECKPOINTERS, run_sync
    from storage import checkpoint

    started: list[tuple[Checkpointer, int]] = []
    real_start = checkpoint.Checkpointer.start

    def start(self: Checkpointer, writer: sqlite3.Connection) -> None:
        real_start(self, writer)
        started.append((self, writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0]))

    monkeypatch.setattr(checkpoint.Checkpointer, "start", start)
    monkeypatch.setattr(checkpoint, "INTERVAL", 0.01)
    with running_simulator(now=FROZEN_NOW) as sim:
        services = build_services(url=sim.base_url, token="demo-operator", cache_dir=tmp_path)
        try:
            report = asyncio.run(run_sync(services, full=True))
            assert report.ok, report.errors
            # one checkpointer ran for the sync, with the writer's own checkpoints off
            assert [off for _, off in started] == [0]
            (used, _), = started
            assert used.checkpoints > 0 and not used._thread.is_alive()
            assert _CHECKPOINTERS == {}
            with services.engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA integrity_check").scalar_one() == "ok"
        finally:
            services.close()

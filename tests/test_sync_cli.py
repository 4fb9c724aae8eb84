"""``ism-tui sync`` and ``ism-tui status`` as an operator runs them, against the simulator."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import FROZEN_NOW

from ism_tui.cli import main
from ism_tui.sim.testing import SimHandle, running_simulator


@pytest.fixture
def sim() -> Iterator[SimHandle]:
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


@pytest.fixture
def env(sim: SimHandle, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    config = tmp_path / "config.toml"
    config.write_text("[profiles.default]\n", encoding="utf-8")
    monkeypatch.setenv("ISM_TUI_URL", sim.base_url)
    monkeypatch.setenv("ISM_TUI_TOKEN", "demo-operator")
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
    return ["--config", str(config)]


def test_sync_json_reports_rows_then_only_real_changes(sim: SimHandle, env: list[str],
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*env, "sync", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    by = {r["resource"]: r for r in first["resources"]}
    assert first["ok"] and by["workspaces"]["mode"] == "full"
    assert by["workspaces"]["rows"] == len(sim.world.workspaces)
    assert by["workspaces"]["changed"] is None  # a full sync: everything may have changed

    sim.advance(60)
    sim.patch("customers", "cus-0003", {"name": "Bluefin Labs Renamed"})
    assert main([*env, "sync"]) == 0
    text = capsys.readouterr().out
    assert "sync ok" in text
    line = next(x for x in text.splitlines() if x.strip().startswith("customers"))
    assert "incremental" in line and "1 changed" in line

    assert main([*env, "status", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["me"]["role"] == "platform_operator"
    assert {r["resource"] for r in status["resources"]} >= {"workspaces", "customers"}
    assert all(r["last_error"] is None for r in status["resources"])


def test_a_rejected_token_fails_with_the_fix_and_never_prints_the_token(
        env: list[str], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("ISM_TUI_TOKEN", "tok-wrong-SECRET")
    assert main([*env, "sync"]) == 1
    out = capsys.readouterr()
    assert "token was rejected (401)" in out.out + out.err
    assert "ISM_TUI_TOKEN" in out.out + out.err
    assert "tok-wrong-SECRET" not in out.out + out.err


def test_kill_9_mid_sync_leaves_a_readable_cache_and_the_next_sync_resumes(
        sim: SimHandle, env: list[str], tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import signal
    import sqlite3
    import subprocess
    import sys
    import time

    sim.set_faults("latency=80ms")  # slow pages, so the kill lands mid-sync
    Path(env[1]).write_text("[profiles.default]\npage_size = 20\n", encoding="utf-8")
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "ism_tui", *env, "sync"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            db = next(cache.glob("*.sqlite3"), None) if cache.exists() else None
            if db is None:
                continue
            try:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
                    if conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] >= 40:
                        break
            except sqlite3.DatabaseError:
                continue  # the file or its schema is still being created
        assert proc.poll() is None, "the sync ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    db = next(cache.glob("*.sqlite3"))
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        partial = conn.execute("SELECT count(*) FROM workspaces").fetchone()[0]
        resume = conn.execute("SELECT resume_after_id FROM sync_state "
                              "WHERE resource = 'workspaces'").fetchone()[0]
    assert 40 <= partial < len(sim.world.workspaces) and resume is not None

    sim.set_faults(None)
    Path(env[1]).write_text("[profiles.default]\n", encoding="utf-8")
    assert main([*env, "sync", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    ws = next(r for r in report["resources"] if r["resource"] == "workspaces")
    assert report["ok"] and ws["mode"] == "full" and ws["rows"] <= len(sim.world.workspaces) - 40
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM workspaces").fetchone()[0] == len(
            sim.world.workspaces)


CONTROLS = ("\x1b", "\x07", "\x9b")


def test_plain_output_prints_hostile_text_without_control_characters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    """A Console whose ``/me`` display name and object names carry ESC, BEL and OSC sequences:
    ``sync``, ``status``, ``blockers`` and ``audit`` print the text, never the sequences."""
    from ism_tui.sim.scenarios import build_world

    world = build_world("demo", now=FROZEN_NOW, seed=7)
    world.tokens["demo-operator"]["name"] = "Sam\x1b]0;pwned\x07 Rivera\x07\x1b[2J\x9b31m"
    with running_simulator(world, faults="hostile") as sim:
        config = tmp_path / "config.toml"
        config.write_text("[profiles.default]\n", encoding="utf-8")
        monkeypatch.setenv("ISM_TUI_URL", sim.base_url)
        monkeypatch.setenv("ISM_TUI_TOKEN", "demo-operator")
        monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
        env = ["--config", str(config)]
        assert main([*env, "sync"]) == 0
        assert main([*env, "act", "stop", "ws-000088", "--yes"]) == 2  # refused: it failed
        outputs = [capsys.readouterr()]
        for command in ("status", "blockers", "audit"):
            assert main([*env, command]) == 0
            outputs.append(capsys.readouterr())
    status = outputs[1].out
    assert "token is Sam Rivera" in status and "<sam.rivera@ism.example.com>" in status
    assert "[@click=app.quit]" in outputs[2].out  # hostile names are listed as they are
    assert "imaging-pipeline" in outputs[3].out and "refused" in outputs[3].out
    for out in outputs:
        printed = out.out + out.err
        assert printed and not any(c in printed for c in CONTROLS), printed


def test_json_progress_prints_a_line_per_committed_page_then_the_report(
        sim: SimHandle, env: list[str]) -> None:
    import subprocess
    import sys

    Path(env[1]).write_text("[profiles.default]\npage_size = 50\n", encoding="utf-8")
    # as the console runs it: in a process of its own (which lowers its priority)
    proc = subprocess.run([sys.executable, "-m", "ism_tui", *env, "sync", "--json-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    *progress, last = lines
    pages = [p["progress"] for p in progress if p["progress"]["resource"] == "workspaces"]
    assert [p["phase"] for p in pages][0] == "start" and pages[-1]["phase"] == "done"
    rows = [p["rows"] for p in pages if p["phase"] == "page"]
    assert rows == sorted(rows) and len(rows) == -(-len(sim.world.workspaces) // 50)
    assert last["report"]["ok"] and last["report"]["errors"] == []
    assert pages[-1]["rows"] == len(sim.world.workspaces)

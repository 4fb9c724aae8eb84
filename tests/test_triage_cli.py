"""``ism-tui triage set / note / list / report`` over a demo cache (no Console needed)."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from conftest import FROZEN_NOW, load_world_into_cache

from ism_tui.cli import main

BILLING = "billing_approval_missing:ws-000121"  # route-optimizer-dev (Kestrel Freight)


@pytest.fixture
def config(tmp_path: Path, demo_world_session, monkeypatch: pytest.MonkeyPatch) -> Path:
    from ism_tui.triage.store import recompute_blockers
    from storage.db import Cache

    for key in ("ISM_TUI_URL", "ISM_TUI_TOKEN", "ISM_TUI_PROFILE", "ISM_TUI_CACHE_DIR"):
        monkeypatch.delenv(key, raising=False)
    path = tmp_path / "config.toml"
    path.write_text(f'default_profile = "t"\ncache_dir = "{tmp_path / "cache"}"\n'
                    '[profiles.t]\nurl = "http://127.0.0.1:9/api/v2"\n', encoding="utf-8")
    cache = Cache(tmp_path / "cache" / "t.sqlite3")
    load_world_into_cache(cache.engine, demo_world_session)
    recompute_blockers(cache.engine, clock=lambda: FROZEN_NOW)
    cache.dispose()
    return path


def run(config: Path, *args: str) -> int:
    return main(["--config", str(config), "triage", *args])


def test_set_note_and_list(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "set", BILLING, "escalated", "--ticket", "SUP-77") == 0
    assert "escalated (ticket SUP-77, to ISM support (billing review))" in capsys.readouterr().out
    assert run(config, "note", BILLING, "billing says Friday; token=hunter2") == 0
    assert "note set" in capsys.readouterr().out
    assert run(config, "list", "--json") == 0
    listed = json.loads(capsys.readouterr().out)
    (mark,) = listed["marks"]
    assert mark["blocker_id"] == BILLING and mark["state"] == "escalated"
    assert mark["ticket"] == "SUP-77" and "hunter2" not in mark["note"]
    assert mark["customer"] == "Kestrel Freight"  # what the lead needs once it is resolved


def test_list_leaves_the_snoozed_out_unless_asked(config: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    snoozed, working = "role_not_mapped:usr-000083", "user_provisioning_failed:ws-000120"
    assert run(config, "set", working, "working") == 0
    assert run(config, "set", snoozed, "snoozed", "--until", "2099-01-01T09:00Z") == 0
    capsys.readouterr()

    def listed(*flags: str) -> tuple[list[str], int]:
        assert run(config, "list", "--json", *flags) == 0
        data = json.loads(capsys.readouterr().out)
        return [m["blocker_id"] for m in data["marks"]], data["snoozed_hidden"]

    assert listed() == ([working], 1)
    assert sorted(listed("--snoozed")[0]) == sorted([working, snoozed])
    assert sorted(listed("--all")[0]) == sorted([working, snoozed])
    assert listed("--state", "snoozed") == ([snoozed], 0)
    assert run(config, "list") == 0
    out = capsys.readouterr().out
    assert "1 snoozed hidden (--snoozed shows them)" in out and snoozed not in out


def test_bad_input_is_refused_with_a_reason(config: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "set", BILLING, "escalated") == 2
    assert "ticket" in capsys.readouterr().err
    assert run(config, "set", BILLING, "snoozed", "--until", "yesterday") == 2
    assert "cannot read 'yesterday'" in capsys.readouterr().err
    assert run(config, "set", "no_such:case", "working") == 1
    assert "no blocker" in capsys.readouterr().err


def test_report_writes_markdown_and_json_0600_secret_free(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(config, "set", BILLING, "escalated", "--ticket",
               "https://desk.example/t/55?session=abc") == 0
    assert run(config, "set", "user_provisioning_failed:ws-000120", "waiting") == 0
    assert run(config, "set", "role_not_mapped:usr-000083", "snoozed", "--until",
               "2099-01-01T09:00Z") == 0
    out = tmp_path / "handover.md"
    assert run(config, "report", "-o", str(out)) == 0
    capsys.readouterr()
    body = out.read_text()
    data = json.loads(out.with_suffix(".json").read_text())
    for path in (out, out.with_suffix(".json")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "abc" not in body and "abc" not in json.dumps(data)
    assert "https://desk.example/t/55" in body  # the ticket's address, without its query
    assert data["queue"]["by_state"]["escalated"] == 1
    assert data["queue"]["by_state"]["waiting"] == 1
    assert data["queue"]["blockers"] == sum(data["queue"]["by_state"].values())
    (escalation,) = data["escalations"]
    assert escalation["where"] == "ISM support (billing review)" and escalation["open"]
    waiting = {w["blocker_id"]: w["waiting_on"] for w in data["still_waiting"]}
    assert waiting["user_provisioning_failed:ws-000120"] == "the customer (Northwind Health)"
    assert "role_not_mapped:usr-000083" not in waiting  # snoozed: a section of its own
    (snoozed,) = data["snoozed"]
    assert (snoozed["blocker_id"], snoozed["until"]) == ("role_not_mapped:usr-000083",
                                                         "2099-01-01T09:00:00.000000Z")
    assert "## Escalations" in body and "## Still waiting" in body
    section = body.split("## Snoozed")[1].split("##")[0]
    assert "2099-01-01T09:00Z" in section and "role_not_mapped:usr-000083" in section
    assert run(config, "report", "--json") == 0
    assert json.loads(capsys.readouterr().out)["escalations"][0]["ticket"].startswith(
        "https://desk.example/t/55")


def test_sync_records_what_changed_in_the_trail(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """``ism-tui sync`` compares the queue with the trail after the sync, as the console does:
    the first sync is the trail's baseline, the next names what appeared and was resolved."""
    from ism_tui.sim.testing import running_simulator
    from ism_tui.triage.trail import Trail
    from storage.trail import TrailStore, trail_path

    config = tmp_path / "config.toml"
    config.write_text("[profiles.default]\n", encoding="utf-8")
    monkeypatch.setenv("ISM_TUI_TOKEN", "demo-operator")
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
    with running_simulator(now=FROZEN_NOW) as sim:
        monkeypatch.setenv("ISM_TUI_URL", sim.base_url)
        assert main(["--config", str(config), "sync"]) == 0
        assert "blockers:" not in capsys.readouterr().err  # a baseline is not news
        sim.advance(60)
        kestrel = sim.world.collection("customers")["cus-0013"]
        sim.patch("customers", "cus-0013",  # billing approved: the create can be retried
                  {"billing": {**kestrel["billing"], "approval": "approved"}})
        sim.patch("workspaces", "ws-000121", {"create_blockers": []})
        sim.patch("workspaces", "ws-000001", {"create_blockers": [
            {"code": "prepaid_balance_missing", "since": "2026-11-24T09:00:00Z",
             "message": "Prepaid balance is exhausted."}]})
        assert main(["--config", str(config), "sync"]) == 0
    assert "blockers: 1 new, 0 reopened, 0 worse, 1 resolved" in capsys.readouterr().err
    trail = Trail(TrailStore(trail_path(tmp_path / "cache" / "default.sqlite3")),
                  lambda: "x", lambda: FROZEN_NOW)
    assert trail.store.mark(BILLING)["present"] == 0
    assert trail.store.mark("prepaid_balance_missing:ws-000001")["present"] == 1


def test_a_broken_trail_is_refused_with_what_to_do_and_left_as_is(
        config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from storage.trail import trail_path

    path = trail_path(tmp_path / "cache" / "t.sqlite3")
    path.parent.mkdir(parents=True, exist_ok=True)
    junk = b"not a database, " * 64
    path.write_bytes(junk)
    assert main(["--config", str(config), "tui", "--no-sync"]) == 3
    said = capsys.readouterr().err
    assert "is not a readable SQLite database" in said and "move it aside" in said
    assert run(config, "list") == 3
    assert path.read_bytes() == junk

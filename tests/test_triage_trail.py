"""The lead's triage trail: states, notes, what each sync changed, and its durability (its own
file, kept across cache rebuilds and a kill -9)."""

from __future__ import annotations

import os
import select
import signal
import sqlite3
import stat
import subprocess
import sys
import textwrap
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import FROZEN_NOW, load_world_into_cache

from ism_tui.triage.trail import Trail, TrailInputError, hidden_by_snooze, parse_until
from storage.trail import SCHEMA_VERSION, TrailError, TrailStore, trail_path

LEAD = "lead@ism.example"


class Clock:
    def __init__(self, now: datetime = FROZEN_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def head(n: int, severity: int = 2, since: str = "2026-11-24T08:00:00.000000Z",
         case: str = "invite_expired") -> dict:
    return {"blocker_id": f"{case}:inv-{n}", "case": case, "severity": severity,
            "customer_id": "cus-1", "customer": "Acme", "subject": f"invite inv-{n}",
            "summary": f"invite {n} expired", "since": since}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def trail(tmp_path: Path, clock: Clock) -> Trail:
    return Trail(TrailStore(trail_path(tmp_path / "cache" / "p.sqlite3")), lambda: LEAD, clock)


def test_the_file_is_private_beside_the_cache(tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "prod.sqlite3"
    store = TrailStore(trail_path(cache))
    path = trail_path(cache)
    assert path.parent.parent == cache.parent and path.name == cache.name
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert stat.S_IMODE(name.stat().st_mode) == 0o600
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_trail_from_a_newer_version_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = trail_path(tmp_path / "p.sqlite3")
    TrailStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(TrailError, match="newer ism-tui"):
        TrailStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM marks").fetchone()[0] == 0  # not wiped


def test_a_trail_of_an_older_version_is_migrated_forward_keeping_its_records(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.trail

    path = trail_path(tmp_path / "p.sqlite3")
    trail = Trail(TrailStore(path), lambda: LEAD, Clock())
    trail.set_note(head(1)["blocker_id"], head(1), "kept")
    trail.store.close()
    monkeypatch.setattr(storage.trail, "MIGRATIONS", (
        *storage.trail.MIGRATIONS, "ALTER TABLE marks ADD COLUMN priority INTEGER"))
    monkeypatch.setattr(storage.trail, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    store = TrailStore(path)
    assert store.mark(head(1)["blocker_id"])["note"] == "kept"
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert "priority" in [r[1] for r in db.execute("PRAGMA table_info(marks)")]


def test_states_need_their_details_and_keep_what_the_lead_typed_secret_free(
        trail: Trail) -> None:
    h = head(1)
    with pytest.raises(TrailInputError, match="ticket"):
        trail.set_state(h["blocker_id"], h, "escalated")
    with pytest.raises(TrailInputError, match="ends"):
        trail.set_state(h["blocker_id"], h, "snoozed")
    with pytest.raises(TrailInputError, match="not in the future"):
        trail.set_state(h["blocker_id"], h, "snoozed", until="2026-11-01")
    with pytest.raises(TrailInputError, match="no blocker"):
        trail.set_state("gone:1", None, "working")
    mark = trail.set_state(h["blocker_id"], h, "escalated", ticket="SUP-9 ?token=abc",
                           where="https://u:pw@tickets.example/q?sig=zz")
    assert mark["ticket"].startswith("SUP-9") and "abc" not in mark["ticket"]
    assert mark["ticket_where"] == "https://tickets.example/q" and mark["lead"] == LEAD
    note = trail.set_note(h["blocker_id"], h, "call Bearer abcdefghijkl at https://x.example/"
                          "invite/ZZZ \x1b]0;pwn\x07 then")
    assert "abcdefghijkl" not in note["note"] and "ZZZ" not in note["note"]
    assert "\x1b" not in note["note"] and note["state"] == "escalated"  # a note keeps the state


def test_a_snooze_ends_and_the_blocker_reads_as_new_again(trail: Trail, clock: Clock) -> None:
    h = head(1)
    trail.set_state(h["blocker_id"], h, "snoozed", until="2h")
    assert trail.filter_ids(["is:snoozed"]) == ("IN", [h["blocker_id"]])
    assert trail.filter_ids(["is:new"]) == ("NOT IN", [h["blocker_id"]])
    clock.now += timedelta(hours=2, seconds=1)
    assert trail.filter_ids(["is:snoozed"]) == ("IN", [])
    assert trail.filter_ids(["is:new"]) == ("NOT IN", [])
    assert parse_until("2026-11-25T09:00", FROZEN_NOW) == datetime(2026, 11, 25, 9, tzinfo=UTC)


def test_a_snooze_hides_a_blocker_only_until_it_ends() -> None:
    now = "2026-11-24T10:00:00.000000Z"
    snoozed = {"state": "snoozed", "snoozed_until": "2026-11-24T12:00:00.000000Z"}
    assert hidden_by_snooze(snoozed, now)
    assert not hidden_by_snooze(snoozed, "2026-11-24T12:00:00.000000Z")  # it ends then
    assert not hidden_by_snooze(snoozed, "2026-11-25T00:00:00.000000Z")
    assert not hidden_by_snooze({"state": "working", "snoozed_until": None}, now)
    assert not hidden_by_snooze(None, now)


def test_the_snoozed_leave_every_filter_but_is_snoozed_and_is_all(trail: Trail,
                                                                  clock: Clock) -> None:
    a, b = head(1), head(2)
    trail.set_state(a["blocker_id"], a, "snoozed", until="2h")
    trail.set_state(b["blocker_id"], b, "working")
    hidden = ("NOT IN", [a["blocker_id"]])
    assert trail.filter_ids([]) == hidden and trail.filter_ids(["acme"]) == hidden
    assert trail.filter_ids(["is:mine"]) == ("IN", [b["blocker_id"]])  # a is the lead's too
    assert trail.filter_ids(["is:mine", "is:all"]) == ("IN", sorted([a["blocker_id"],
                                                                     b["blocker_id"]]))
    assert trail.filter_ids(["is:snoozed"]) == ("IN", [a["blocker_id"]])
    assert trail.filter_ids(["is:all"]) == ("NOT IN", [])
    clock.now += timedelta(hours=2)
    assert trail.filter_ids([]) is None and trail.snoozed() == []


def test_a_snoozed_blocker_that_gets_worse_or_comes_back_is_back_at_once(
        trail: Trail, clock: Clock) -> None:
    young = str((FROZEN_NOW - timedelta(hours=20)).isoformat())
    rises, ages, returns = head(1), head(2, since=young), head(3)
    trail.record_sync([rises, ages, returns])
    for h in (rises, ages, returns):
        trail.set_state(h["blocker_id"], h, "snoozed", until="1w")
    clock.now += timedelta(hours=5)
    trail.record_sync([{**rises, "severity": 3}, ages])  # ages: older than a day now
    clock.now += timedelta(hours=1)
    trail.record_sync([{**rises, "severity": 3}, ages, returns])
    now = trail.now()
    marks = {h["blocker_id"]: trail.store.mark(h["blocker_id"]) for h in (rises, ages, returns)}
    assert [bid for bid, m in marks.items() if hidden_by_snooze(m, now)] == [ages["blocker_id"]]
    risen = marks[rises["blocker_id"]]
    assert risen is not None and risen["state"] == "new" and risen["woken_at"] is not None
    back = marks[returns["blocker_id"]]
    assert back is not None and back["state"] == "new" and back["reopened"] == 1
    again = trail.set_state(rises["blocker_id"], rises, "snoozed", until="1d")
    assert again["woken_at"] is None  # what the lead sets next is a fresh start


def test_filter_words_select_by_state_and_lead(trail: Trail) -> None:
    a, b, c = head(1), head(2), head(3)
    trail.set_state(a["blocker_id"], a, "working")
    trail.set_state(b["blocker_id"], b, "waiting")
    other = Trail(trail.store, lambda: "someone@else", trail.clock)
    other.set_state(c["blocker_id"], c, "working")
    assert trail.filter_ids(["is:working"]) == ("IN", sorted([a["blocker_id"],
                                                              c["blocker_id"]]))
    assert trail.filter_ids(["is:mine"]) == ("IN", sorted([a["blocker_id"], b["blocker_id"]]))
    assert trail.filter_ids(["is:mine", "is:working"]) == ("IN", [a["blocker_id"]])
    assert trail.filter_ids(["is:waiting", "name"]) == ("IN", [b["blocker_id"]])
    assert trail.filter_ids(["acme"]) is None


def test_a_sync_records_what_appeared_resolved_got_worse_and_came_back(
        trail: Trail, clock: Clock) -> None:
    first = trail.record_sync([head(1), head(2), head(3, severity=3)])
    assert first.baseline and first.critical == []  # the first look is not news
    trail.set_note(head(2)["blocker_id"], head(2), "customer says Tuesday")
    trail.set_state(head(2)["blocker_id"], head(2), "waiting")
    clock.now += timedelta(hours=1)
    second = trail.record_sync([head(1, severity=3), head(3, severity=3), head(4, severity=3)])
    assert [r["blocker_id"] for r in second.appeared] == [head(4)["blocker_id"]]
    assert [r["blocker_id"] for r in second.resolved] == [head(2)["blocker_id"]]
    assert [r["worse"] for r in second.worse] == [{"severity": [2, 3]}]
    assert [r["blocker_id"] for r in second.critical] == [head(4)["blocker_id"]]
    clock.now += timedelta(hours=1)
    third = trail.record_sync([head(1, severity=3), head(2), head(3, severity=3),
                               head(4, severity=3)])
    assert [r["blocker_id"] for r in third.reopened] == [head(2)["blocker_id"]]
    mark = trail.store.mark(head(2)["blocker_id"])
    assert mark is not None and mark["note"] == "customer says Tuesday"  # notes kept
    assert mark["state"] == "new" and mark["reopened"] == 1
    assert trail.filter_ids(["is:reopened"]) == ("IN", [head(2)["blocker_id"]])
    quiet = trail.record_sync([head(1, severity=3), head(2), head(3, severity=3),
                               head(4, severity=3)])
    assert quiet.empty


def test_two_syncs_recording_at_once_count_each_change_once(tmp_path: Path) -> None:
    """The console and ``ism-tui sync`` (here: two connections to one file, in threads)
    record the same new queue at the same moment: one of them records it."""
    import threading

    path = trail_path(tmp_path / "p.sqlite3")
    trails = [Trail(TrailStore(path), lambda: LEAD, Clock()) for _ in range(2)]
    trails[0].record_sync([head(1)])
    start = threading.Barrier(2)
    found: list = []

    def record(trail: Trail) -> None:
        start.wait()
        found.append(trail.record_sync([head(1), head(2)]))

    threads = [threading.Thread(target=record, args=(t,)) for t in trails]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(len(c.appeared) for c in found) == [0, 1]
    appeared = [e for e in trails[0].store.events() if e["kind"] == "appeared"]
    assert [e["blocker_id"] for e in appeared] == [head(1)["blocker_id"], head(2)["blocker_id"]]


def test_growing_older_than_a_day_counts_as_worse_once(trail: Trail, clock: Clock) -> None:
    young = head(1, since=str((FROZEN_NOW - timedelta(hours=20)).isoformat()))
    trail.record_sync([young])
    clock.now += timedelta(hours=5)
    aged = trail.record_sync([young])
    assert [r["worse"] for r in aged.worse] == [{"age_days": 1}]
    clock.now += timedelta(hours=3)
    assert trail.record_sync([young]).empty


def test_changes_since_the_last_session_and_resolved_by_the_console(
        trail: Trail, clock: Clock) -> None:
    trail.record_sync([head(1), head(2)])
    trail.set_note(head(2)["blocker_id"], head(2), "was fixed by billing")
    boundary = trail.now()
    clock.now += timedelta(minutes=5)
    trail.record_sync([head(1, severity=3), head(3)])
    changes = trail.changes_since(boundary)
    assert [r["blocker_id"] for r in changes["appeared"]] == [head(3)["blocker_id"]]
    assert [r["blocker_id"] for r in changes["worse"]] == [head(1)["blocker_id"]]
    assert [(r["blocker_id"], r["note"]) for r in changes["resolved"]] == [
        (head(2)["blocker_id"], "was fixed by billing")]
    assert trail.changes_since(trail.now()) == {k: [] for k in changes}


def test_a_cache_rebuild_keeps_every_state_and_note(tmp_path: Path, demo_world_session) -> None:
    """A schema change of the cache drops and recreates its tables; the trail is another file
    and the blocker ids it is keyed by come back the same."""
    from ism_tui.triage.store import recompute_blockers
    from storage.db import Cache
    from storage.triage_io import blocker_heads

    cache_path = tmp_path / "cache" / "t.sqlite3"
    cache = Cache(cache_path)
    load_world_into_cache(cache.engine, demo_world_session)
    recompute_blockers(cache.engine, clock=lambda: FROZEN_NOW)
    trail = Trail(TrailStore(trail_path(cache_path)), lambda: LEAD, lambda: FROZEN_NOW)
    heads = blocker_heads(cache)
    trail.record_sync(heads)
    for n, h in enumerate(heads):
        state = ("working", "waiting", "seen")[n % 3]
        trail.set_state(h["blocker_id"], h, state)
        trail.set_note(h["blocker_id"], h, f"note {n}")
    before = {m["blocker_id"]: (m["state"], m["note"]) for m in trail.store.marks()}
    trail.store.close()
    with cache.read() as db:
        db.execute("UPDATE meta SET value = '-1' WHERE key = 'schema_version'")
    cache.dispose()
    rebuilt = Cache(cache_path)  # another schema version: every cache table is rebuilt
    assert blocker_heads(rebuilt) == []
    load_world_into_cache(rebuilt.engine, demo_world_session)
    recompute_blockers(rebuilt.engine, clock=lambda: FROZEN_NOW)
    trail = Trail(TrailStore(trail_path(cache_path)), lambda: LEAD, lambda: FROZEN_NOW)
    after = {m["blocker_id"]: (m["state"], m["note"]) for m in trail.store.marks()}
    assert after == before and len(after) == len(heads) > 20
    assert trail.record_sync(blocker_heads(rebuilt)).empty  # the same ids: nothing changed
    rebuilt.dispose()


_EDIT_LOOP = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from pathlib import Path
    from ism_tui.triage.trail import Trail
    from storage.trail import TrailStore

    trail = Trail(TrailStore(Path(sys.argv[1])), lambda: "lead", lambda: datetime.now(UTC))
    states = ("working", "waiting", "seen")
    for i in range(10**6):
        bid = f"invite_expired:inv-{i % 50}"
        known = {"case": "invite_expired", "severity": 2, "summary": "s"}
        trail.set_state(bid, known, states[i % 3])
        trail.set_note(bid, known, f"edit {i}")
        print(i, flush=True)  # acknowledged: both edits are committed
""")


def test_every_acknowledged_edit_survives_kill_9(tmp_path: Path) -> None:
    path = trail_path(tmp_path / "p.sqlite3")
    proc = subprocess.Popen([sys.executable, "-c", _EDIT_LOOP, str(path)],
                            stdout=subprocess.PIPE, text=True)
    acknowledged: dict[str, int] = {}
    deadline = time.monotonic() + 60
    try:
        assert proc.stdout is not None
        while len(acknowledged) < 50 or max(acknowledged.values()) < 300:
            ready, _, _ = select.select([proc.stdout], [], [], deadline - time.monotonic())
            assert ready, "the edit loop stopped acknowledging"
            line = proc.stdout.readline()
            assert line, "the edit loop exited"
            i = int(line)
            acknowledged[f"invite_expired:inv-{i % 50}"] = i
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # mid-loop: an edit is under way
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = TrailStore(path)
    for bid, last in acknowledged.items():
        mark = store.mark(bid)
        assert mark is not None
        kept = int(mark["note"].removeprefix("edit "))
        assert kept >= last  # nothing acknowledged is lost (a later edit may have landed)
        # the state may be one edit of this blocker (50 edits on) ahead of its note: killed
        # between the two commits
        assert mark["state"] in {("working", "waiting", "seen")[(kept + k) % 3] for k in (0, 50)}
    total = sum(1 for e in store.events() if e["kind"] == "note")
    assert total >= max(acknowledged.values()) + 1
    store.close()

"""The lead's triage trail over the queue: state and note per blocker, and what each sync changed.

States: ``new`` (not looked at; also a blocker whose snooze is over, or that came back after
being resolved), ``seen``, ``working``, ``escalated`` (ticket reference and where),
``waiting`` (on the customer), ``snoozed`` (until a time: out of the queue until then,
``hidden_by_snooze``). What the lead types is scrubbed of secrets before it is stored, as every
export is. After a sync, ``record_sync`` compares the blockers now in the cache with the trail's
last-known set: which appeared, resolved, got worse (severity up, or older than the next of
``AGE_STEPS``) or came back (reopened, its notes kept). A snoozed blocker whose severity went up
or that came back is new again at once: the snooze was not meant to hide that.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import orjson

from ism_tui.redact import scrub
from ism_tui.triage.playbook import CRITICAL
from storage.dbapi import RowDict
from storage.stamps import iso, parse_iso
from storage.trail import TRAIL_WORDS, TrailStore, word_condition

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from storage.db import Cache

Clock = Callable[[], datetime]
STATES = ("new", "seen", "working", "escalated", "waiting", "snoozed")
AGE_STEPS = (timedelta(days=1), timedelta(days=3), timedelta(days=7))
NOTE_CHARS = 2000
SNOOZE_WORDS = ("is:snoozed", "is:all")  # the filter words that show what a snooze hides
FILTER_WORDS = ("is:new", *SNOOZE_WORDS, *TRAIL_WORDS)
_LAST_SYNC = "last_sync_at"
_DURATION = re.compile(r"^(\d+)\s*([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class TrailInputError(ValueError):
    """What the lead asked for cannot be recorded; the message says why."""


def _parse_time(text: str, now: datetime, direction: int) -> datetime:
    """``30m``, ``2h``, ``3d``, ``1w`` from ``now`` (``direction`` 1: later, -1: earlier),
    or an ISO date or time (UTC unless it says)."""
    found = _DURATION.match(text.strip().lower())
    if found:
        return now + direction * timedelta(**{_UNITS[found[2]]: int(found[1])})
    try:
        when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        shown = scrub(text, 80).replace("\n", " ")
        raise TrailInputError(f"cannot read {shown!r} as a time: give 30m, 2h, 3d, 1w or an "
                              "ISO time such as 2026-11-25T09:00Z") from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def parse_until(text: str, now: datetime) -> datetime:
    """When a snooze ends: that long from now, or that time (which must be ahead)."""
    when = _parse_time(text, now, 1)
    if when <= now:
        raise TrailInputError(f"{iso_min(when)} is not in the future")
    return when


def parse_ago(text: str, now: datetime) -> str:
    """The start of a report's span: that long ago, or that time."""
    return str(iso(_parse_time(text, now, -1)))


def iso_min(when: datetime | str | None) -> str:
    """A time as the trail's exports show it: ``2026-11-24T09:30Z``."""
    if isinstance(when, str):
        when = parse_iso(when)
    if when is None:
        return "—"
    return when.astimezone(UTC).isoformat(timespec="minutes").replace("+00:00", "Z")


def hidden_by_snooze(mark: RowDict | None, now: str) -> bool:
    """Whether a snooze keeps this blocker out of the queue now: until the time it ends.
    (``record_sync`` ends it sooner when its severity goes up or it comes back.)"""
    return (mark is not None and mark["state"] == "snoozed"
            and (mark.get("snoozed_until") or "") > now)


def shows_snoozed(words: Iterable[str]) -> bool:
    """Whether a filter asks for the blockers a snooze hides."""
    return any(w in SNOOZE_WORDS for w in words)


def effective_state(mark: RowDict | None, now: str) -> str:
    """The state a mark shows now (a snooze that is over reads as new again)."""
    if mark is None:
        return "new"
    state = str(mark["state"])
    if state == "snoozed" and not hidden_by_snooze(mark, now):
        return "new"
    return state


def _age_step(since: str | None, at: str | None) -> int:
    start, end = parse_iso(since), parse_iso(at)
    if start is None or end is None:
        return 0
    return sum(end - start >= step for step in AGE_STEPS)


def _worse(old: RowDict, new: RowDict, previous_at: str | None, at: str) -> RowDict:
    """How a blocker still in the queue got worse since the last sync: its severity went up,
    or it grew older than the next of ``AGE_STEPS`` (empty when neither)."""
    worse: RowDict = {}
    if (new["severity"] or 0) > (old["severity"] or 0):
        worse["severity"] = [old["severity"], new["severity"]]
    step = _age_step(new["since"], at)
    if new["since"] == old["since"] and step > _age_step(new["since"], previous_at):
        worse["age_days"] = AGE_STEPS[step - 1].days
    return worse


@dataclass
class Changes:
    """What one sync changed in the queue (rows: the trail's fields of each blocker)."""

    at: str
    appeared: list[RowDict] = field(default_factory=list)
    resolved: list[RowDict] = field(default_factory=list)
    worse: list[RowDict] = field(default_factory=list)
    reopened: list[RowDict] = field(default_factory=list)
    baseline: bool = False  # the trail's first look at this cache: nothing is "new" yet

    @property
    def critical(self) -> list[RowDict]:
        """New or reopened critical blockers worth interrupting the lead for."""
        if self.baseline:
            return []
        return [r for r in self.appeared + self.reopened if (r.get("severity") or 0) >= CRITICAL]

    @property
    def empty(self) -> bool:
        return not (self.appeared or self.resolved or self.worse or self.reopened)


class Trail:
    """One profile's trail: ``lead`` says who is editing (the token's email, or the local
    user before the first sync)."""

    def __init__(self, store: TrailStore, lead: Callable[[], str], clock: Clock) -> None:
        self.store = store
        self.lead = lead
        self.clock = clock
        self.session: int | None = None  # the console's session: edits and syncs extend it

    def start_session(self) -> str | None:
        """Open a console session; returns when the one before it ended (None: the first)."""
        self.session, before = self.store.start_session(self.lead(), self.now())
        return None if before is None else str(before["last_at"])

    def _touch(self, at: str) -> None:
        if self.session is not None:
            self.store.touch_session(self.session, at)

    def now(self) -> str:
        return str(iso(self.clock()))

    # ------------------------------------------------------------------ edits

    def set_state(self, blocker_id: str, known: RowDict | None, state: str, *,
                  ticket: str | None = None, where: str | None = None,
                  until: str | None = None) -> RowDict:
        """Record the lead's state for a blocker (``known``: its cache fields, None when it
        is no longer in the cache but is in the trail)."""
        if state not in STATES:
            raise TrailInputError(f"unknown state {state!r}; states: {', '.join(STATES)}")
        changes: RowDict = {"state": state, "lead": self.lead(), "state_at": self.now(),
                            "snoozed_until": None, "woken_at": None}
        detail: RowDict = {"state": state}
        if state == "escalated":
            ref = scrub(ticket or "", 200).strip()
            if not ref:
                raise TrailInputError("an escalation needs its ticket reference (--ticket REF)")
            changes["ticket"] = detail["ticket"] = ref
            changes["ticket_where"] = detail["where"] = scrub(where or "", 200).strip() or None
        if state == "snoozed":
            if not until:
                raise TrailInputError("a snooze needs the time it ends (--until 2h, 1d, ...)")
            changes["snoozed_until"] = detail["until"] = iso(parse_until(until, self.clock()))
        return self._edit(blocker_id, known, changes, "state", detail)

    def set_note(self, blocker_id: str, known: RowDict | None, text: str) -> RowDict:
        note = scrub(text, NOTE_CHARS).strip() or None
        changes: RowDict = {"note": note}
        mark = self.store.mark(blocker_id)
        if mark is None or mark["state"] == "new":  # writing a note is looking at it
            changes.update(state="seen", lead=self.lead(), state_at=self.now())
        return self._edit(blocker_id, known, changes, "note", {"note": note})

    def mark_seen(self, blocker_id: str, known: RowDict) -> RowDict | None:
        """The lead looked at a new blocker: it becomes seen (no-op for any other state)."""
        mark = self.store.mark(blocker_id)
        if mark is not None and mark["state"] != "new":
            return mark
        return self._edit(blocker_id, known, {"state": "seen", "lead": self.lead(),
                                              "state_at": self.now()}, None, {})

    def _edit(self, blocker_id: str, known: RowDict | None, changes: RowDict, kind: str | None,
              detail: RowDict) -> RowDict:
        if known is None and self.store.mark(blocker_id) is None:
            shown = scrub(blocker_id, 80)
            raise TrailInputError(f"no blocker {shown!r} in the cache or the triage "
                                  "trail; list them with `ism-tui blockers`")
        first = {**(known or {}), "first_seen_at": self.now(), "present": 1}
        event = None if kind is None else {
            "at": self.now(), "kind": kind, "lead": self.lead(),
            "detail": orjson.dumps(detail).decode()}
        mark = self.store.edit(blocker_id, first, changes, event)
        self._touch(self.now())
        return mark

    # ------------------------------------------------------------------ syncs

    def record_cache(self, cache: Cache | Engine) -> Changes:
        """``record_sync`` of the blockers now in ``cache``: what every front end calls once a
        sync has finished."""
        from storage.triage_io import blocker_heads, folded_ids

        return self.record_sync(blocker_heads(cache), folded_ids(cache))

    def record_sync(self, current: Iterable[RowDict], folded: Iterable[str] = ()) -> Changes:
        """Compare the blockers now in the cache (``storage.triage_io.blocker_heads``) with the
        trail's last-known set, and record the difference in one commit. ``folded``: blockers
        out of the queue that another one stands for (``Blocker.folds``): not resolved, their
        marks kept for when they are back on their own."""
        at = self.now()
        heads = list(current)
        changes = Changes(at)

        def plan(known: dict[str, RowDict], meta: dict[str, str]
                 ) -> tuple[list[RowDict], list[RowDict], list[RowDict], dict[str, str]]:
            previous_at = meta.get(_LAST_SYNC)
            changes.baseline = previous_at is None
            inserts: list[RowDict] = []
            updates: list[RowDict] = []
            events: list[RowDict] = []

            def event(row: RowDict, kind: str, **detail: Any) -> None:
                events.append({"at": at, "blocker_id": row["blocker_id"], "kind": kind,
                               "detail": orjson.dumps(detail).decode()})

            for row in heads:
                old = known.get(row["blocker_id"])
                if old is None:
                    inserts.append({**row, "present": 1, "first_seen_at": at, "state": "new"})
                    changes.appeared.append(row)
                    event(row, "appeared", severity=row["severity"], baseline=changes.baseline)
                    continue
                update = {k: row[k] for k in ("severity", "since", "summary", "customer",
                                              "subject") if row[k] != old[k]}
                if not old["present"]:
                    update.update(present=1, reopened=1, state="new", resolved_at=None)
                    changes.reopened.append(row)
                    event(row, "reopened", severity=row["severity"])
                elif worse := _worse(old, row, previous_at, at):
                    changes.worse.append({**row, "worse": worse})
                    event(row, "worse", **worse)
                    # only a severity rise ends a snooze early: growing older is what the
                    # lead chose to wait through
                    if "severity" in worse and hidden_by_snooze(old, at):
                        update.update(state="new", snoozed_until=None, woken_at=at)
                if update:
                    updates.append({"blocker_id": row["blocker_id"], **update})
            listed = {row["blocker_id"] for row in heads} | set(folded)
            for bid, old in known.items():
                if old["present"] and bid not in listed:
                    updates.append({"blocker_id": bid, "present": 0, "resolved_at": at,
                                    "reopened": 0})
                    changes.resolved.append(old)
                    event(old, "resolved", severity=old["severity"])
            return inserts, updates, events, {_LAST_SYNC: at}

        self.store.record(plan)
        self._touch(at)
        return changes

    # ------------------------------------------------------------------ reads

    def snoozed(self) -> list[RowDict]:
        """The marks of the blockers in the queue a snooze hides now, the soonest to end
        first."""
        now = self.now()
        marks = self.store.marks("present = 1 AND state = 'snoozed'")
        return sorted((m for m in marks if hidden_by_snooze(m, now)),
                      key=lambda m: str(m["snoozed_until"]))

    def filter_ids(self, words: Iterable[str], snoozed: list[RowDict] | None = None
                   ) -> tuple[str, list[str]] | None:
        """The blocker ids the trail's filter words select, as (``IN`` or ``NOT IN``, ids) for
        ``storage.queries.Listing`` (None when they leave every blocker in). Words combine as
        AND, like every filter word; the snoozed blockers are left out unless a word of
        ``SNOOZE_WORDS`` asks for them. ``snoozed``: ``self.snoozed()``, if already read."""
        chosen = [w for w in words if w in FILTER_WORDS]
        now = self.now()
        hidden = {m["blocker_id"] for m in (self.snoozed() if snoozed is None else snoozed)}
        include: set[str] | None = None
        for word in chosen:
            if word in ("is:new", "is:all"):
                continue
            ids = hidden if word == "is:snoozed" else set(
                self.store.ids(*word_condition(word, self.lead(), now)))
            include = ids if include is None else include & ids
        exclude = set() if shows_snoozed(chosen) else hidden
        if "is:new" in chosen:
            exclude |= set(self.store.ids(*word_condition("is:handled", self.lead(), now)))
        if include is not None:
            return "IN", sorted(include - exclude)
        return ("NOT IN", sorted(exclude)) if exclude or chosen else None

    def annotate(self, rows: list[RowDict]) -> None:
        """Each table row gets its mark (``_mark``) and the state it shows now (``_state``)."""
        marks = self.store.marks_of([r["id"] for r in rows])
        now = self.now()
        for r in rows:
            mark = marks.get(r["id"])
            r["_mark"] = mark
            r["_state"] = effective_state(mark, now)

    def changes_since(self, since: str | None) -> dict[str, list[RowDict]]:
        """The blockers that appeared, got worse or reopened since ``since`` and are still in
        the queue, and those the Console resolved since (each once, its mark as stored now).
        A trail's first look at a cache (its baseline) is not news."""
        out: dict[str, list[RowDict]] = {k: [] for k in ("appeared", "worse", "reopened",
                                                     "resolved")}
        events = [e for e in self.store.events(since=since, kinds=tuple(out))
                  if since is None or e["at"] > since]
        marks = self.store.marks_of(sorted({e["blocker_id"] for e in events}))
        listed: set[tuple[str, str]] = set()
        for e in reversed(events):  # the latest of each kind first
            mark = marks.get(e["blocker_id"])
            key = (e["kind"], e["blocker_id"])
            if mark is None or key in listed or orjson.loads(e["detail"]).get("baseline"):
                continue
            if bool(mark["present"]) == (e["kind"] == "resolved"):
                continue  # resolved since it appeared, or back since it was resolved
            listed.add(key)
            out[e["kind"]].append({**mark, "changed_at": e["at"],
                                   "detail": orjson.loads(e["detail"])})
        return out

    def history(self, blocker_id: str) -> list[RowDict]:
        return self.store.events(blocker_id=blocker_id)


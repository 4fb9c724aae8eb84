"""Indexes over a World so every list request is a bisect, never a sort or a full scan.

Per list resource the store keeps the live ids in id order (globally and per customer), the
tombstones of deleted objects, and a change log of ``(updated_at key, id)`` in time order. A
request with ``updated_since`` takes the change log's tail after ``since``, sorts those ids once
and memoises that view until the resource changes again, so paging through it is a bisect too.

The World's dicts stay the live storage: the store only indexes them, and mutations go through
``changed`` / ``delete`` so indexes and the change log follow.
"""

from __future__ import annotations

from bisect import bisect_right, insort
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ism_tui.sim.world import World

Obj = dict[str, Any]

# list resource -> the field naming its customer (None: global, visible to every role)
CUSTOMER_FIELD: dict[str, str | None] = {
    "customers": "id",
    "users": "customer_id",
    "invites": "customer_id",
    "targets": None,
    "templates": None,
    "workspaces": "customer_id",
    "usage": "customer_id",
    "usage_periods": "customer_id",
    "audit": "customer_id",
}
_MAX_VIEWS = 64
_HIGH = "\U0010ffff"


def format_ts(moment: datetime) -> str:
    """Wire form of an instant: ``2026-11-24T09:30:00Z`` (milliseconds only when non-zero)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond // 1000 == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"


def parse_ts(value: str) -> datetime:
    """Parse an ISO 8601 instant (``Z`` or an offset; naive means UTC). Raises ValueError."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def ts_key(value: str) -> str:
    """A string that sorts like the instant ``value`` (wire strings mix precisions)."""
    if len(value) == 20 and value[19] == "Z":
        return value[:19] + ".000000"
    return parse_ts(value).strftime("%Y-%m-%dT%H:%M:%S.%f")


def key_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class SimClock:
    """The simulator's clock: real time, or frozen at an instant; ``advance`` moves either."""

    def __init__(self, frozen_at: datetime | None = None) -> None:
        if frozen_at is not None and frozen_at.tzinfo is None:
            frozen_at = frozen_at.replace(tzinfo=UTC)
        self.frozen_at = frozen_at
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self.frozen_at if self.frozen_at is not None else datetime.now(UTC)
        return base + self._offset

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError(f"the simulator clock only moves forward, got {seconds} s")
        self._offset += timedelta(seconds=seconds)


@dataclass(frozen=True)
class ListQuery:
    """A validated list request. ``customer_id`` is the effective filter (scope applied)."""

    limit: int = 100
    after_id: str | None = None
    since_key: str | None = None
    customer_id: str | None = None
    day_from: str | None = None
    day_to: str | None = None


class Store:
    """Sorted-id indexes, tombstones and change logs over a World's list collections."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.ids: dict[str, list[str]] = {}
        self.by_customer: dict[str, dict[str | None, list[str]]] = {}
        self.tombstones: dict[str, dict[str, Obj]] = {}
        self.tomb_customer: dict[str, dict[str, str | None]] = {}
        self.changes: dict[str, list[tuple[str, str]]] = {}
        self.version: dict[str, int] = {}
        self._views: OrderedDict[tuple[str, str, str | None], tuple[int, list[str]]]
        self._views = OrderedDict()
        for resource in CUSTOMER_FIELD:
            self._index(resource)

    def _index(self, resource: str) -> None:
        live = self.world.collection(resource)
        field = CUSTOMER_FIELD[resource]
        tombs: dict[str, Obj] = {}
        tomb_customer: dict[str, str | None] = {}
        for obj_id, obj in list(live.items()):
            if obj.get("deleted"):  # a scenario may ship tombstones: keep them out of the live set
                tombs[obj_id] = {"id": obj_id, "updated_at": obj["updated_at"], "deleted": True}
                tomb_customer[obj_id] = obj.get(field) if field else None
                del live[obj_id]
        self.ids[resource] = sorted(live)
        groups: dict[str | None, list[str]] = {}
        if field is not None:
            for obj_id in self.ids[resource]:
                groups.setdefault(live[obj_id].get(field), []).append(obj_id)
        self.by_customer[resource] = groups
        self.tombstones[resource] = tombs
        self.tomb_customer[resource] = tomb_customer
        log = [(ts_key(o["updated_at"]), i) for i, o in live.items()]
        log += [(ts_key(o["updated_at"]), i) for i, o in tombs.items()]
        log.sort()
        self.changes[resource] = log
        self.version[resource] = 0

    # ------------------------------------------------------------------ reads
    def get(self, resource: str, obj_id: str) -> Obj | None:
        return self.world.collection(resource).get(obj_id)

    def customer_of(self, resource: str, obj_id: str) -> str | None:
        field = CUSTOMER_FIELD[resource]
        if field is None:
            return None
        obj = self.world.collection(resource).get(obj_id)
        if obj is not None:
            return obj.get(field)  # type: ignore[no-any-return]
        return self.tomb_customer[resource].get(obj_id)

    def page(self, resource: str, query: ListQuery) -> tuple[list[Obj], str | None]:
        """One keyset page: items with id > after_id in id order, and the next cursor."""
        live = self.world.collection(resource)
        tombs = self.tombstones[resource]
        if query.since_key is None:
            if query.customer_id is not None and CUSTOMER_FIELD[resource] is not None:
                view = self.by_customer[resource].get(query.customer_id, [])
            else:
                view = self.ids[resource]
        else:
            view = self._since_view(resource, query.since_key, query.customer_id)
        start = bisect_right(view, query.after_id) if query.after_id is not None else 0
        dated = query.day_from is not None or query.day_to is not None
        items: list[Obj] = []
        for index in range(start, len(view)):
            obj = live.get(view[index])
            if obj is None:
                obj = tombs.get(view[index])
                if obj is None:
                    continue
            elif dated and not _in_days(obj, query.day_from, query.day_to):
                continue
            if len(items) == query.limit:
                return items, items[-1]["id"]
            items.append(obj)
        return items, None

    def _since_view(self, resource: str, since_key: str, customer_id: str | None) -> list[str]:
        memo_key = (resource, since_key, customer_id)
        cached = self._views.get(memo_key)
        if cached is not None and cached[0] == self.version[resource]:
            self._views.move_to_end(memo_key)
            return cached[1]
        log = self.changes[resource]
        tail = {obj_id for _, obj_id in log[bisect_right(log, (since_key, _HIGH)) :]}
        if customer_id is not None and CUSTOMER_FIELD[resource] is not None:
            tail = {i for i in tail if self.customer_of(resource, i) == customer_id}
        view = sorted(tail)
        self._views[memo_key] = (self.version[resource], view)
        if len(self._views) > _MAX_VIEWS:
            self._views.popitem(last=False)
        return view

    # ------------------------------------------------------------------ writes
    def changed(self, resource: str, obj: Obj) -> None:
        """Record that ``obj`` (new or mutated in place, ``updated_at`` already set) changed."""
        live = self.world.collection(resource)
        obj_id = obj["id"]
        if obj_id not in live:
            live[obj_id] = obj
            insort(self.ids[resource], obj_id)
            field = CUSTOMER_FIELD[resource]
            if field is not None:
                insort(self.by_customer[resource].setdefault(obj.get(field), []), obj_id)
        self._log(resource, obj_id, obj["updated_at"])

    def delete(self, resource: str, obj_id: str, at: str) -> Obj:
        """Replace a live object by its tombstone (listed only to ``updated_since`` requests)."""
        live = self.world.collection(resource)
        obj = live.pop(obj_id)
        field = CUSTOMER_FIELD[resource]
        customer = obj.get(field) if field else None
        self.ids[resource].remove(obj_id)
        if field is not None:
            self.by_customer[resource][customer].remove(obj_id)
        tomb = {"id": obj_id, "updated_at": at, "deleted": True}
        self.tombstones[resource][obj_id] = tomb
        self.tomb_customer[resource][obj_id] = customer
        self._log(resource, obj_id, at)
        return tomb

    def _log(self, resource: str, obj_id: str, updated_at: str) -> None:
        entry = (ts_key(updated_at), obj_id)
        log = self.changes[resource]
        if not log or log[-1] <= entry:
            log.append(entry)
        else:
            insort(log, entry)
        self.version[resource] += 1

    def counts(self) -> dict[str, int]:
        return {resource: len(ids) for resource, ids in self.ids.items()}


def _in_days(obj: Obj, day_from: str | None, day_to: str | None) -> bool:
    day = obj.get("day")
    if not isinstance(day, str):
        return True
    return (day_from is None or day >= day_from) and (day_to is None or day <= day_to)

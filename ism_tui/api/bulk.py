"""Fast page decoding: response bytes -> validated wire objects in one C pass (msgspec).

The pydantic models in ``models.py`` stay the single source of the contract (and of the
OpenAPI schemas). For list pages, the hot path of every sync, this module derives an equivalent
``msgspec.Struct`` per model (same fields, types, defaults and enums; unknown fields ignored;
lax number/string coercion like pydantic's default mode) and decodes page bytes straight into
them, several times faster than ``orjson.loads`` + pydantic. The objects answer the same
attribute names as the models.

Their timestamps and dates stay the RFC 3339 text the server sent, validated for the whole page
in one ``msgspec.convert`` call: the row makers read attributes and write that text, where
datetime objects had to be turned back into text (``msgspec.to_builtins`` dicts) first. For the
100k workspaces that is ~30% less decode and row-making time. A page whose text does not parse
is decoded again with datetime-typed structs, which name the field as before.
"""

from __future__ import annotations

import datetime as dt
import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ism_tui.api import models as m

DecodeError = msgspec.DecodeError
ValidationError = msgspec.ValidationError

_STRUCTS: dict[tuple[type[BaseModel], bool], Any] = {}
_TEXT = {dt.datetime: str, dt.date: str}


def _convert(annotation: Any, text: bool) -> Any:
    """A pydantic field annotation with every model replaced by its struct (and, with
    ``text``, every datetime and date by ``str``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_for(annotation, text=text)
    if typing.get_origin(annotation) is typing.Literal:
        return str  # open enumerations (``models.Open``): any text is kept
    if text and annotation in _TEXT:
        return _TEXT[annotation]
    origin = typing.get_origin(annotation)
    if origin is list:
        return list[_convert(typing.get_args(annotation)[0], text)]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        # ``Open[X]`` (a Literal or str) becomes str: Union drops the repeat.
        return typing.Union[tuple(_convert(a, text) for a in typing.get_args(annotation))]  # noqa: UP007
    return annotation


def struct_for(model: type[BaseModel], *, text: bool = True) -> Any:
    """The ``msgspec.Struct`` type equivalent to a pydantic wire model (cached); with ``text``
    (list pages) its timestamps and dates are the server's text, checked by ``page_decoder``."""
    found = _STRUCTS.get((model, text))
    if found is not None:
        return found
    fields: list[Any] = []
    for name, info in model.model_fields.items():
        kind = _convert(info.annotation, text)
        if info.default_factory is not None:
            factory = typing.cast(typing.Callable[[], Any], info.default_factory)
            fields.append((name, kind, msgspec.field(default_factory=factory)))
        elif info.default is PydanticUndefined:
            fields.append((name, kind))
        else:
            fields.append((name, kind, info.default))
    # gc=False: decoded JSON holds no reference cycles, and untracked objects spare the
    # cyclic collector from walking every row of every page.
    struct = msgspec.defstruct(model.__name__ + ("" if text else "Strict"), fields,
                               kw_only=True, gc=False)
    _STRUCTS[(model, text)] = struct
    return struct


@dataclass
class _Stamps:
    """Where a model keeps its timestamps and dates, nested models included."""

    stamps: list[str] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    one: list[tuple[str, _Stamps]] = field(default_factory=list)  # a nested model or None
    many: list[tuple[str, _Stamps]] = field(default_factory=list)  # a list of models


@cache
def _stamps_of(model: type[BaseModel]) -> _Stamps:
    found = _Stamps()
    for name, info in model.model_fields.items():
        args = typing.get_args(info.annotation) or (info.annotation,)
        if typing.get_origin(info.annotation) is list:
            inner = args[0]
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                if (sub := _stamps_of(inner)) != _Stamps():
                    found.many.append((name, sub))
                continue
            args = (list[inner],)  # type: ignore[valid-type]
        for arg in args:
            if arg is dt.datetime:
                found.stamps.append(name)
            elif arg is dt.date:
                found.days.append(name)
            elif isinstance(arg, type) and issubclass(arg, BaseModel):
                if (sub := _stamps_of(arg)) != _Stamps():
                    found.one.append((name, sub))
            elif _mentions_time(arg):
                # Text no check would see (a list of timestamps, a list of models or None):
                # the row makers would take it unchecked.
                raise TypeError(f"{model.__name__}.{name}: timestamps in this shape are not "
                                "checked by api.bulk; add the shape to _stamps_of")
    return found


def _mentions_time(annotation: Any) -> bool:
    """Whether a compound annotation holds a datetime, date or timestamped model anywhere."""
    return any(a in _TEXT or _mentions_time(a)
               or (isinstance(a, type) and issubclass(a, BaseModel) and _stamps_of(a) != _Stamps())
               for a in typing.get_args(annotation))


def _gather(objects: list[Any], where: _Stamps, stamps: list[Any], days: list[Any]) -> None:
    for name in where.stamps:
        stamps += [getattr(o, name) for o in objects]
    for name in where.days:
        days += [getattr(o, name) for o in objects]
    for name, sub in where.one:
        _gather([x for o in objects if (x := getattr(o, name)) is not None], sub, stamps, days)
    for name, sub in where.many:
        _gather([x for o in objects for x in getattr(o, name)], sub, stamps, days)


TOMBSTONE_FIELDS = frozenset({"id", "updated_at", "deleted"})


def _page_struct(resource: str, *, tombstone_safe: bool, text: bool) -> Any:
    model = m.LIST_RESOURCES[resource]
    item = struct_for(model, text=text)
    if tombstone_safe:
        # Every field a tombstone omits becomes optional (UNSET); live items are checked after.
        fields: list[Any] = []
        for f in msgspec.structs.fields(item):
            if f.required and f.name not in TOMBSTONE_FIELDS:
                fields.append((f.name, f.type | msgspec.UnsetType, msgspec.UNSET))
            elif f.default_factory is not msgspec.NODEFAULT:
                fields.append((f.name, f.type, msgspec.field(default_factory=f.default_factory)))
            elif f.required:
                fields.append((f.name, f.type))
            else:
                fields.append((f.name, f.type, f.default))
        item = msgspec.defstruct(f"{item.__name__}OrTombstone", fields, kw_only=True,
                                 gc=False)
    items: Any = list[item]  # type: ignore[valid-type]
    return msgspec.defstruct(f"{item.__name__}Page",
                             [("items", items), ("next_after_id", str | None, None)],
                             kw_only=True, gc=False)


@cache
def page_decoder(resource: str) -> Callable[[bytes], Any]:
    """Decoder of one list page ``{"items": [...], "next_after_id": ...}`` of ``resource``.

    Items are the resource or a tombstone (``{"id", "updated_at", "deleted": true}``), with
    their timestamps and dates as the server's RFC 3339 text (checked here, for the whole page).
    Most resources' fields all have defaults, so one decoder takes both; for those with
    required fields (usage, audit) a page holding tombstones is decoded again with those fields
    optional and each live item checked for them.
    """
    fast = _items_decoder(resource, text=True)
    where = _stamps_of(m.LIST_RESOURCES[resource])

    def decode(content: bytes) -> Any:
        page = fast(content)
        stamps: list[Any] = []
        days: list[Any] = []
        _gather(page.items, where, stamps, days)
        try:
            _check_text(stamps, days)
        except msgspec.ValidationError:
            # A tombstone's missing fields (UNSET) are not timestamps to check.
            try:
                _check_text([x for x in stamps if x is not msgspec.UNSET],
                            [x for x in days if x is not msgspec.UNSET])
            except msgspec.ValidationError as exc:
                # Which field: the datetime-typed decoder says, as it did before text stamps.
                _items_decoder(resource, text=False)(content)
                what = str(exc).rpartition(" - at ")[0] or str(exc)
                raise msgspec.ValidationError(f"{what} - at `$.items`") from None
        return page
    return decode


def _check_text(stamps: list[Any], days: list[Any]) -> None:
    msgspec.convert(stamps, list[dt.datetime | None])
    msgspec.convert(days, list[dt.date | None])


@cache
def _items_decoder(resource: str, *, text: bool) -> Callable[[bytes], Any]:
    strict = msgspec.json.Decoder(_page_struct(resource, tombstone_safe=False, text=text),
                                  strict=False)
    required = [f.name for f in msgspec.structs.fields(
        struct_for(m.LIST_RESOURCES[resource], text=text))
        if f.required and f.name not in TOMBSTONE_FIELDS]
    if not required:
        return strict.decode
    lenient = msgspec.json.Decoder(_page_struct(resource, tombstone_safe=True, text=text),
                                   strict=False)

    def decode(content: bytes) -> Any:
        try:
            return strict.decode(content)
        except msgspec.ValidationError:
            # Anything the lenient decoder refuses is wrong whatever the tombstones (it only
            # makes fields optional), and it may lie past the first tombstone.
            page = lenient.decode(content)
            for i, item in enumerate(page.items):
                missing = [] if item.deleted else [
                    f for f in required if getattr(item, f) is msgspec.UNSET]
                if missing:
                    raise msgspec.ValidationError(
                        f"Object missing required field `{missing[0]}` - at `$.items[{i}]`"
                    ) from None
            return page
    return decode


# What SQLite stores in an INTEGER column (the contract sets no maximum).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


@cache
def _int_paths(model: type[BaseModel]) -> tuple[tuple[str, ...], ...]:
    """Attribute paths to a model's integers, through nested models (not lists of them)."""
    found: list[tuple[str, ...]] = []
    for name, info in model.model_fields.items():
        for arg in typing.get_args(info.annotation) or (info.annotation,):
            if arg is int:
                found.append((name,))
            elif isinstance(arg, type) and issubclass(arg, BaseModel):
                found += [(name, *sub) for sub in _int_paths(arg)]
    return tuple(found)


def _value(obj: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        obj = getattr(obj, name, None)
        if obj is None:
            return None
    return obj


def out_of_range(obj: Any, model: type[BaseModel] | None = None) -> str | None:
    """What is wrong with a wire object whose integer the cache cannot hold (naming the object
    and the field), or None. ``model``: its model, when ``obj`` is a decoder struct."""
    kind: type[BaseModel] = model if model is not None else type(obj)
    for path in _int_paths(kind):
        value = _value(obj, path)
        if type(value) is int and not INT_MIN <= value <= INT_MAX:
            digits = str(value)
            shown = digits if len(digits) <= 30 else f"{digits[:12]}…({len(digits)} digits)"
            return (f"object {getattr(obj, 'id', '?')!r}: field {'.'.join(path)!r} = {shown} "
                    "is out of range (the cache holds 64-bit integers)")
    return None


def in_range(resource: str, items: list[Any]) -> tuple[list[Any], list[str]]:
    """A page's objects the cache can hold, and what is wrong with each one it cannot (such an
    object is left out; the rest of the page lands)."""
    model = m.LIST_RESOURCES[resource]
    paths = _int_paths(model)
    if not paths or not items:
        return items, []
    for path in paths:
        values = [v for o in items if type(v := _value(o, path)) is int]
        if values and (max(values) > INT_MAX or min(values) < INT_MIN):
            break
    else:
        return items, []
    kept: list[Any] = []
    problems: list[str] = []
    for obj in items:
        problem = None if getattr(obj, "deleted", False) else out_of_range(obj, model)
        if problem is None:
            kept.append(obj)
        else:
            problems.append(f"{resource}: {problem}")
    return kept, problems


def object_named(content: bytes, field_path: str) -> str:
    """Which object a page's field path (``items.3.status``) is in, by its id when the body
    says it: ``object 'ws-1' (items[3])``. Only on the error path: decodes the body again."""
    parts = field_path.split(".")
    if len(parts) < 2 or parts[0] != "items" or not parts[1].isdigit():
        return ""
    index = int(parts[1])
    try:
        import json

        item = json.loads(content)["items"][index]
        found = item.get("id") if isinstance(item, dict) else None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError):
        found = None
    where = f"items[{index}]"
    return f"object {found!r} ({where})" if isinstance(found, str) else f"object {where}"


_INDEX = re.compile(r"\[(\d+)\]")


def error_location(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(dotted field path such as ``items.0.status``, what was wrong) from msgspec's message."""
    text = str(exc)
    what, _, where = text.rpartition(" - at `")
    if not what:
        return "(body)", text
    path = _INDEX.sub(r".\1", where.rstrip("`")).removeprefix("$").lstrip(".")
    return path or "(body)", what

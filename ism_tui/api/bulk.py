"""Fast page decoding: response bytes -> validated wire objects in one C pass (msgspec).

The pydantic models in ``models.py`` stay the single source of the contract (and of the
OpenAPI schemas). For list pages, the hot path of every sync, this module derives an equivalent
``msgspec.Struct`` per model (same fields, types, defaults and enums; unknown fields ignored;
lax number/string coercion like pydantic's default mode) and decodes page bytes straight into
them: on the 100k scale scenario's 70 MB of workspace pages that is 0.35 s instead of 2.25 s
for ``orjson.loads`` + pydantic. The objects answer the same attribute names as the models.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from functools import cache
from typing import Any

import msgspec
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from ism_tui.api import models as m

DecodeError = msgspec.DecodeError
ValidationError = msgspec.ValidationError

_STRUCTS: dict[type[BaseModel], Any] = {}


def _convert(annotation: Any) -> Any:
    """A pydantic field annotation with every model replaced by its struct."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return struct_for(annotation)
    origin = typing.get_origin(annotation)
    if origin is list:
        return list[_convert(typing.get_args(annotation)[0])]  # type: ignore[misc]
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_convert(a) for a in typing.get_args(annotation))]  # noqa: UP007
    return annotation


def struct_for(model: type[BaseModel]) -> Any:
    """The ``msgspec.Struct`` type equivalent to a pydantic wire model (cached)."""
    found = _STRUCTS.get(model)
    if found is not None:
        return found
    fields: list[Any] = []
    for name, info in model.model_fields.items():
        kind = _convert(info.annotation)
        if info.default_factory is not None:
            factory = typing.cast(typing.Callable[[], Any], info.default_factory)
            fields.append((name, kind, msgspec.field(default_factory=factory)))
        elif info.default is PydanticUndefined:
            fields.append((name, kind))
        else:
            fields.append((name, kind, info.default))
    # gc=False: decoded JSON holds no reference cycles, and untracked objects spare the
    # cyclic collector from walking every row of every page.
    struct = msgspec.defstruct(model.__name__, fields, kw_only=True, gc=False)
    _STRUCTS[model] = struct
    return struct


TOMBSTONE_FIELDS = frozenset({"id", "updated_at", "deleted"})


def _page_struct(resource: str, *, tombstone_safe: bool) -> Any:
    model = m.LIST_RESOURCES[resource]
    item = struct_for(model)
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
        item = msgspec.defstruct(f"{model.__name__}OrTombstone", fields, kw_only=True,
                                 gc=False)
    items: Any = list[item]  # type: ignore[valid-type]
    return msgspec.defstruct(f"{item.__name__}Page",
                             [("items", items), ("next_after_id", str | None, None)],
                             kw_only=True, gc=False)


@cache
def page_decoder(resource: str) -> Callable[[bytes], Any]:
    """Decoder of one list page ``{"items": [...], "next_after_id": ...}`` of ``resource``.

    Items are the resource or a tombstone (``{"id", "updated_at", "deleted": true}``). Most
    resources' fields all have defaults, so one decoder takes both; for those with required
    fields (usage, audit) a page holding tombstones is decoded again with those fields optional
    and each live item checked for them.
    """
    strict = msgspec.json.Decoder(_page_struct(resource, tombstone_safe=False), strict=False)
    required = [f.name for f in msgspec.structs.fields(struct_for(m.LIST_RESOURCES[resource]))
                if f.required and f.name not in TOMBSTONE_FIELDS]
    if not required:
        return strict.decode
    lenient = msgspec.json.Decoder(_page_struct(resource, tombstone_safe=True), strict=False)

    def decode(content: bytes) -> Any:
        try:
            return strict.decode(content)
        except msgspec.ValidationError as first:
            try:
                page = lenient.decode(content)
            except msgspec.ValidationError:
                raise first from None
            for i, item in enumerate(page.items):
                missing = [] if item.deleted else [
                    f for f in required if getattr(item, f) is msgspec.UNSET]
                if missing:
                    raise msgspec.ValidationError(
                        f"Object missing required field `{missing[0]}` - at `$.items[{i}]`"
                    ) from None
            return page
    return decode


_INDEX = re.compile(r"\[(\d+)\]")


def error_location(exc: msgspec.ValidationError) -> tuple[str, str]:
    """(dotted field path such as ``items.0.status``, what was wrong) from msgspec's message."""
    text = str(exc)
    what, _, where = text.rpartition(" - at `")
    if not what:
        return "(body)", text
    path = _INDEX.sub(r".\1", where.rstrip("`")).removeprefix("$").lstrip(".")
    return path or "(body)", what

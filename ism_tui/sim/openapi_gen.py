"""Generate the Console API contract, ``ism_tui/api/openapi.yaml`` (OpenAPI 3.1).

Component schemas come from the wire models (``ism_tui.api.models``), one
``#/components/schemas/X`` per model; paths, parameters and responses are written here. A test
keeps the committed file equal to ``render_openapi()``; regenerate with
``ism-tui sim --write-openapi ism_tui/api/openapi.yaml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ism_tui.api import models as m

Obj = dict[str, Any]
OPENAPI_PATH = Path(__file__).resolve().parent.parent / "api" / "openapi.yaml"
REF = "#/components/schemas/{model}"
RESPONSE_MODELS: tuple[type[m.Wire], ...] = (
    m.Me, m.Customer, m.User, m.Invite, m.Target, m.TemplateAlias, m.Workspace, m.Build,
    m.BuildLog, m.UsageRow, m.UsagePeriod, m.AuditEvent, m.Error, m.TransitionRequest,
    m.ActionResult,
)
# list path -> (item schema, summary, customer-scoped?, takes from/to?, analytics?)
LISTS: dict[str, tuple[str, str, bool, bool, bool]] = {
    "/customers": ("Customer", "Customers (a customer token sees only its own)", True, False,
                   False),
    "/users": ("User", "Users and their membership", True, False, False),
    "/invites": ("Invite", "Invites (never with a link or token)", True, False, False),
    "/targets": ("Target", "Workspace targets (global)", False, False, False),
    "/templates": ("TemplateAlias", "Template aliases (global)", False, False, False),
    "/workspaces": ("Workspace", "Workspaces with their latest build", True, False, False),
    "/usage": ("UsageRow", "Usage per workspace and day", True, True, True),
    "/usage/periods": ("UsagePeriod", "Reconciliation per customer and day", True, True, True),
    "/audit": ("AuditEvent", "What was done through Console", True, False, True),
}
DESCRIPTION = """\
The ISM Console API as ism-tui uses it, served by the simulator (`ism-tui sim`).

**Auth**: `Authorization: Bearer <token>`; a missing, unknown or revoked token gets 401.

**Errors**: every non-2xx body is `Error`. 429 and 503 carry `Retry-After` (seconds).

**Address**: the API lives under `/api/v2` of the Console's address; ism-tui takes the address
with or without it (`https://console.example.com` means `https://console.example.com/api/v2`).

**Ids** are opaque text: a client sends one percent-encoded as one path segment (`/`, `?`, `#`
and `%` escaped); the empty string, `.` and `..` are not ids. An action's answer is about the
object asked for (the build's `workspace_id`, the reissued invite's email and customer); ism-tui
reports any other answer as an error, never as done.

**Open enumerations**: the values listed for an enumerated response field are the ones this
version knows; a newer Console may add values. A client keeps an unknown value as text
(ism-tui shows it with a `?`, e.g. `hibernating?`) and never takes it for a blocker, or for a
state that allows an action.

**Integers** are 64-bit signed: no field has a bigger range. ism-tui leaves an object with an
integer outside it out of its cache and names it (object id and field); the rest of its page
is stored. A page is refused whole, with an error naming the object (id and index) and field,
when its body is not JSON or not `{"items": [...]}`, an item is not an object or lacks a
required field, a field has another JSON type than its schema's, a timestamp or date does not
parse, or a number does not fit a double.

**Lists** are keyset pages ordered by id: pass `next_after_id` back as `after_id`; null means
the end. `updated_since` returns only objects changed after that instant, including tombstones
(`{"id", "updated_at", "deleted": true}`) of objects deleted after it; without it, tombstones
are never listed.

**Clock**: every response carries an HTTP `Date` header from the clock that stamps
`updated_at`. A client may ask for `updated_since` = the `Date` of the first page of its
previous listing minus a safety overlap (ism-tui uses 60 s), so batches updated long ago are
not listed again.

**Roles**: `platform_operator` sees and acts on every customer; `customer_admin` sees and acts
on its own customer only (other customers' objects are 404); `customer_member` sees its own
customer but gets 403 on `/usage`, `/usage/periods`, `/audit` (recorded as an
`analytics.view` audit event with result `denied`) and on every action. Targets and templates
are global.

**Actions** are POSTs that require an `Idempotency-Key` header (1-255 printable ASCII
characters). The first success returns 201 with an `ActionResult`. Replaying the same key with
the same request returns that first response unchanged (status 201, same `request_id`) with
header `Idempotent-Replayed: true`; the same key with a different request gets 409. Errors are
not stored: a request refused with 409 may be retried with the same key once the conflict is
resolved. Refusals are 409 with the reason in `message`.

**Builds**: a build is `pending` for ~1 s, then `running` (log lines appear) until ~3 s after
the request, then `succeeded` or `failed`; the workspace status follows (starting/running,
stopping/stopped, deleting, then the workspace becomes a tombstone). A cancel moves a pending or
running build to `canceling`, then `canceled` ~1 s later. No response ever contains an invite
link or token.
"""


def component_schemas() -> Obj:
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema([(model, "validation") for model in RESPONSE_MODELS],
                                ref_template=REF)
    schemas: Obj = dict(sorted(top["$defs"].items()))
    schemas["Tombstone"] = {
        "type": "object",
        "title": "Tombstone",
        "description": "An object deleted after `updated_since`: drop it from the cache.",
        "required": ["id", "updated_at", "deleted"],
        "properties": {
            "id": {"type": "string", "title": "Id"},
            "updated_at": {"type": "string", "format": "date-time", "title": "Updated At"},
            "deleted": {"const": True, "title": "Deleted"},
        },
    }
    for item in sorted({spec[0] for spec in LISTS.values()} | {"BuildLog"}):
        items: Obj = {"$ref": REF.format(model=item)}
        if item != "BuildLog":
            items = {"anyOf": [items, {"$ref": REF.format(model="Tombstone")}]}
        schemas[f"{item}Page"] = {
            "type": "object",
            "title": f"{item}Page",
            "description": "One keyset page; `next_after_id` null means the end.",
            "required": ["items", "next_after_id"],
            "properties": {
                "items": {"type": "array", "items": items},
                "next_after_id": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            },
        }
    return schemas


def _param(name: str, where: str, schema: Obj, description: str, required: bool = False) -> Obj:
    return {"name": name, "in": where, "required": required, "description": description,
            "schema": schema}


PARAMS: Obj = {
    "Id": _param("id", "path", {"type": "string", "minLength": 1}, "Object id.", True),
    "Limit": _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 5000,
                                       "default": 100}, "Page size (1-5000)."),
    "AfterId": _param("after_id", "query", {"type": "string", "minLength": 1},
                      "Keyset cursor: items with a greater id (a previous `next_after_id`)."),
    "UpdatedSince": _param("updated_since", "query", {"type": "string", "format": "date-time"},
                           "Only objects changed after this instant, tombstones included."),
    "CustomerId": _param("customer_id", "query", {"type": "string", "minLength": 1},
                         "Only this customer's objects (within the token's scope)."),
    "From": _param("from", "query", {"type": "string", "format": "date"},
                   "First day, inclusive."),
    "To": _param("to", "query", {"type": "string", "format": "date"}, "Last day, inclusive."),
    "LogAfter": _param("after", "query", {"type": "integer"},
                       "Only log lines with a greater id (a previous `next_after_id`)."),
    "IdempotencyKey": _param(
        "Idempotency-Key", "header",
        {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]([ -~]*[!-~])?$"},
        "Required on every action; replaying it with the same request returns the first "
        "result.", True),
}
ERRORS: dict[str, str] = {
    "401": "Missing, unknown or revoked token.",
    "403": "The token's role may not do this (the message says why).",
    "404": "No such object, or not in the token's scope.",
    "409": "Refused: the message gives the reason (or Idempotency-Key reused).",
    "422": "Invalid input: `validations` names each field.",
    "429": "Rate limited: retry after `Retry-After` seconds.",
    "500": "Console failed.",
    "503": "Console unavailable: retry after `Retry-After` seconds.",
}


def _responses() -> Obj:
    out: Obj = {}
    for code, text in ERRORS.items():
        response: Obj = {"description": text, "content": {
            "application/json": {"schema": {"$ref": REF.format(model="Error")}}}}
        if code in ("429", "503"):
            response["headers"] = {"Retry-After": {
                "description": "Seconds to wait before retrying.", "required": True,
                "schema": {"type": "integer", "minimum": 0}}}
        out[f"E{code}"] = response
    return out


def _ok(schema: str, description: str, status: str = "200") -> Obj:
    return {status: {"description": description, "content": {
        "application/json": {"schema": {"$ref": REF.format(model=schema)}}}}}


def _errors(*codes: str) -> Obj:
    return {c: {"$ref": f"#/components/responses/E{c}"} for c in ("401", *codes, "429", "500",
                                                                     "503")}


def _refs(*names: str) -> list[Obj]:
    return [{"$ref": f"#/components/parameters/{n}"} for n in names]


def _get(op_id: str, summary: str, ok: Obj, params: list[Obj], *codes: str) -> Obj:
    op = {"operationId": op_id, "summary": summary, "parameters": params,
          "responses": {**ok, **_errors(*codes)}}
    return {"get": op} if params else {"get": {k: v for k, v in op.items() if k != "parameters"}}


def _action(op_id: str, summary: str, body: bool = False) -> Obj:
    op: Obj = {
        "operationId": op_id, "summary": summary,
        "parameters": _refs("Id", "IdempotencyKey"),
        "responses": {**_ok("ActionResult", "Done (or the replayed first result).", "201"),
                      **_errors("403", "404", "409", "422")},
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": {"$ref": REF.format(model="TransitionRequest")}}}}
    return {"post": op}


def paths() -> Obj:
    out: Obj = {"/me": _get("getMe", "Who the token is", _ok("Me", "The token's identity."), [])}
    for path, (item, summary, scoped, dated, analytics) in LISTS.items():
        names = ["Limit", "AfterId", "UpdatedSince"] + (["CustomerId"] if scoped else [])
        names += ["From", "To"] if dated else []
        op_id = "list" + "".join(part.title() for part in path.strip("/").split("/"))
        codes = ("403", "422") if analytics else ("422",)
        out[path] = _get(op_id, summary, _ok(f"{item}Page", "One page."), _refs(*names), *codes)
        if path in ("/customers", "/users", "/invites", "/workspaces"):
            out[f"{path}/{{id}}"] = _get("get" + item, f"One {item}", _ok(item, item),
                                         _refs("Id"), "404")
    out["/workspacebuilds/{id}"] = _get("getBuild", "One build", _ok("Build", "The build."),
                                        _refs("Id"), "404")
    out["/workspacebuilds/{id}/logs"] = _get(
        "listBuildLogs", "A build's log lines in order",
        _ok("BuildLogPage", "Lines; `next_after_id` is null when no more exist right now."),
        _refs("Id", "LogAfter", "Limit"), "404", "422")
    out["/workspaces/{id}/builds"] = _action(
        "createBuild", "Start, stop or delete a workspace (a new build)", body=True)
    out["/workspacebuilds/{id}/cancel"] = _action("cancelBuild", "Cancel a pending/running build")
    out["/workspaces/{id}/retry"] = _action(
        "retryWorkspace", "Retry a failed or blocked create (only once its blockers are resolved)")
    out["/invites/{id}/reissue"] = _action(
        "reissueInvite", "Revoke a consumed/expired/revoked invite and issue a new one")
    return out


def build_openapi() -> Obj:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ISM Console API (ism-tui contract)", "version": "2.0.0",
                 "description": DESCRIPTION},
        "servers": [{"url": "/api/v2"}],
        "security": [{"bearerAuth": []}],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": PARAMS,
            "responses": _responses(),
            "schemas": component_schemas(),
        },
    }


def render_openapi() -> str:
    import yaml

    class Dumper(yaml.SafeDumper):  # type: ignore[misc]
        pass

    def text(dumper: yaml.SafeDumper, value: str) -> Any:
        style = "|" if "\n" in value else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    Dumper.add_representer(str, text)
    header = "# Generated by `ism-tui sim --write-openapi` from ism_tui/sim/openapi_gen.py.\n"
    body = yaml.dump(build_openapi(), Dumper=Dumper, sort_keys=False, allow_unicode=True,
                     width=100)
    return header + str(body)


def write_openapi(path: Path | str = OPENAPI_PATH) -> Path:
    target = Path(path)
    target.write_text(render_openapi(), encoding="utf-8")
    return target


def load_openapi(path: Path | str = OPENAPI_PATH) -> Obj:
    """The committed contract as a dict (for tests and clients)."""
    import yaml

    loaded: Obj = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return loaded

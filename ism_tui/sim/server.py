"""The simulator's HTTP server: the Console API contract (``ism_tui/api/openapi.yaml``) over a
``SimState``, as a Starlette app wrapped in the fault-injection middleware.

Handlers are ``async`` and short: each takes the state lock, lets builds advance (``tick``),
authenticates, and serialises with orjson while the lock is held (objects are live dicts).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from datetime import date
from email.utils import format_datetime
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ism_tui.sim.faults import API_PREFIX, FaultMiddleware, Faults
from ism_tui.sim.state import SimError, SimState, invalid
from ism_tui.sim.store import CUSTOMER_FIELD, ListQuery, SimClock, key_of, parse_ts

Obj = dict[str, Any]
MAX_LIMIT = 5000
DEFAULT_LIMIT = 100
MAX_KEY_CHARS = 255
ANALYTICS = ("usage", "usage_periods", "audit")
TRANSITIONS = ("start", "stop", "delete")
LIST_PARAMS = ("limit", "after_id", "updated_since")
Handler = Callable[[Request], Awaitable[Response]]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    raw = body if isinstance(body, bytes) else orjson.dumps(body)
    return Response(raw, status, headers=headers, media_type="application/json")


def error_response(exc: SimError) -> Response:
    headers = dict(exc.headers)
    if exc.status == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return json_response(exc.body(), exc.status, headers)


class SimServer:
    """Routes bound to one ``SimState``."""

    def __init__(self, state: SimState) -> None:
        self.state = state

    def routes(self) -> list[Route]:
        api = API_PREFIX
        routes = [Route("/healthz", self.health), Route(f"{api}/me", self.guard(self.me))]
        for resource in CUSTOMER_FIELD:
            path = "usage/periods" if resource == "usage_periods" else resource
            names = LIST_PARAMS + (("customer_id",) if CUSTOMER_FIELD[resource] else ())
            names += ("from", "to") if resource in ("usage", "usage_periods") else ()
            routes.append(Route(f"{api}/{path}", self.guard(self.lister(resource), names)))
        for path, resource in (("customers", "customers"), ("users", "users"),
                               ("invites", "invites"), ("workspaces", "workspaces")):
            routes.append(Route(f"{api}/{path}/{{id}}", self.guard(self.getter(resource))))
        routes += [
            Route(f"{api}/workspacebuilds/{{id}}", self.guard(self.get_build)),
            Route(f"{api}/workspacebuilds/{{id}}/logs",
                  self.guard(self.get_logs, ("after", "limit"))),
            Route(f"{api}/workspaces/{{id}}/builds", self.guard(self.post_build), methods=["POST"]),
            Route(f"{api}/workspacebuilds/{{id}}/cancel", self.guard(self.post_cancel),
                  methods=["POST"]),
            Route(f"{api}/workspaces/{{id}}/retry", self.guard(self.post_retry), methods=["POST"]),
            Route(f"{api}/invites/{{id}}/reissue", self.guard(self.post_reissue),
                  methods=["POST"]),
        ]
        return routes

    def guard(self, handler: Callable[[Request, Obj], Response],
              params: tuple[str, ...] = ()) -> Handler:
        """Lock, advance builds, authenticate, refuse unknown query parameters, and turn
        ``SimError`` into the Error body."""

        async def endpoint(request: Request) -> Response:
            with self.state.lock:
                try:
                    self.state.tick()
                    me = self.state.authenticate(request.headers.get("authorization"))
                    _known_params(request, params)
                    return handler(request, me)
                except SimError as exc:
                    return error_response(exc)

        return endpoint

    async def health(self, request: Request) -> Response:
        return json_response({"ok": True})

    # ------------------------------------------------------------------ reads
    def me(self, request: Request, me: Obj) -> Response:
        return json_response(me)

    def lister(self, resource: str) -> Callable[[Request, Obj], Response]:
        def handler(request: Request, me: Obj) -> Response:
            if resource in ANALYTICS and me["role"] == "customer_member":
                raise self.state.deny_analytics(me, resource)
            query = self._list_query(request, resource, me)
            if query is None:  # a customer filter outside the token's scope: nothing to see
                return json_response({"items": [], "next_after_id": None})
            items, next_after_id = self.state.store.page(resource, query)
            return json_response({"items": items, "next_after_id": next_after_id})

        return handler

    def _list_query(self, request: Request, resource: str, me: Obj) -> ListQuery | None:
        params = request.query_params
        limit = _limit(params.get("limit"))
        since = params.get("updated_since")
        since_key = None
        if since is not None:
            try:
                since_key = key_of(parse_ts(since.replace(" ", "+")))
            except ValueError:
                raise invalid("updated_since", f"{since!r} is not an ISO 8601 datetime; use e.g. "
                              "2026-11-24T09:30:00Z") from None
        customer = _text(params.get("customer_id"), "customer_id")
        scope = self.state.scope(me)
        if CUSTOMER_FIELD[resource] is None:
            customer = None
        elif scope is not None:
            if customer is not None and customer != scope:
                return None
            customer = scope
        day_from = day_to = None
        if resource in ("usage", "usage_periods"):
            day_from, day_to = _day(params.get("from"), "from"), _day(params.get("to"), "to")
            if day_from and day_to and day_from > day_to:
                raise invalid("from", f"from {day_from} is after to {day_to}")
        after_id = _text(params.get("after_id"), "after_id")
        return ListQuery(limit, after_id, since_key, customer, day_from, day_to)

    def getter(self, resource: str) -> Callable[[Request, Obj], Response]:
        def handler(request: Request, me: Obj) -> Response:
            return json_response(self.state.visible(me, resource, request.path_params["id"]))

        return handler

    def get_build(self, request: Request, me: Obj) -> Response:
        return json_response(self.state.visible_build(me, request.path_params["id"]))

    def get_logs(self, request: Request, me: Obj) -> Response:
        build = self.state.visible_build(me, request.path_params["id"])
        params = request.query_params
        after = params.get("after")
        after_id = None
        if after is not None:
            try:
                after_id = int(after)
            except ValueError:
                raise invalid("after", f"{after!r} is not a log line id (an integer)") from None
        items, next_after = self.state.logs(build["id"], after_id, _limit(params.get("limit")))
        return json_response({"items": items, "next_after_id": next_after})

    # ------------------------------------------------------------------ actions
    def post_build(self, request: Request, me: Obj) -> Response:
        def act(rid: str) -> Obj:
            ws = self.state.visible(me, "workspaces", request.path_params["id"])
            return self.state.transition(me, ws, transition, rid)

        self.state.require_actor(me)
        key = _idempotency_key(request)
        transition = _transition(request)
        return self._act(me, key, f"{request.url.path} {transition}", act)

    def post_cancel(self, request: Request, me: Obj) -> Response:
        def act(rid: str) -> Obj:
            return self.state.cancel(me, self.state.visible_build(me, request.path_params["id"]),
                                     rid)

        self.state.require_actor(me)
        return self._act(me, _idempotency_key(request), request.url.path, act)

    def post_retry(self, request: Request, me: Obj) -> Response:
        def act(rid: str) -> Obj:
            ws = self.state.visible(me, "workspaces", request.path_params["id"])
            return self.state.retry(me, ws, rid)

        self.state.require_actor(me)
        return self._act(me, _idempotency_key(request), request.url.path, act)

    def post_reissue(self, request: Request, me: Obj) -> Response:
        def act(rid: str) -> Obj:
            invite = self.state.visible(me, "invites", request.path_params["id"])
            return self.state.reissue(me, invite, rid)

        self.state.require_actor(me)
        return self._act(me, _idempotency_key(request), request.url.path, act)

    def _act(self, me: Obj, key: str, fingerprint: str, act: Callable[[str], Obj]) -> Response:
        """Replay a stored first result, or run the action once and remember its result."""
        stored = self.state.replay(me, key, fingerprint)
        if stored is not None:
            return json_response(stored[1], stored[0], {"Idempotent-Replayed": "true"})
        body = orjson.dumps(act(self.state.request_id()))
        self.state.remember(me, key, fingerprint, 201, body)
        return json_response(body, 201)


def _known_params(request: Request, accepted: tuple[str, ...]) -> None:
    for name in request.query_params:
        if name not in accepted:
            hint = f"accepted: {', '.join(accepted)}" if accepted else "this takes none"
            raise invalid(name, f"unknown query parameter {name!r}; {hint}")


def _text(raw: str | None, name: str) -> str | None:
    if raw is not None and not raw:
        raise invalid(name, f"{name} is empty; leave it out or give a value")
    return raw


def _limit(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_LIMIT
    try:
        limit = int(raw)
    except ValueError:
        raise invalid("limit", f"{raw!r} is not a whole number; use 1 to {MAX_LIMIT}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid("limit", f"{limit} is out of range; use 1 to {MAX_LIMIT}")
    return limit


def _day(raw: str | None, name: str) -> str | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw).isoformat()
    except ValueError:
        raise invalid(name, f"{raw!r} is not a date; use YYYY-MM-DD") from None


def _idempotency_key(request: Request) -> str:
    key = request.headers.get("idempotency-key")
    if key is None or not key.strip():
        raise invalid("Idempotency-Key", "actions require an Idempotency-Key header (e.g. a "
                      "UUID); reuse it only to retry the same request")
    if len(key) > MAX_KEY_CHARS or not (key.isascii() and key.isprintable()) or key != key.strip():
        raise invalid("Idempotency-Key", f"use 1 to {MAX_KEY_CHARS} printable ASCII characters")
    return key


def _transition(request: Request) -> str:
    raw = request.scope.get("_sim_body", b"")
    try:
        body = orjson.loads(raw) if raw else None
    except orjson.JSONDecodeError:
        raise invalid("body", 'the body is not JSON; send {"transition": "start"}') from None
    value = body.get("transition") if isinstance(body, dict) else None
    if value not in TRANSITIONS:
        raise invalid("transition", f"{value!r} is not one of: {', '.join(TRANSITIONS)}")
    return str(value)


class _ReadBody:
    """Read POST bodies before the handler (handlers run synchronously under the lock)."""

    def __init__(self, app: Starlette) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
            scope["_sim_body"] = b"".join(chunks)
        await self.app(scope, receive, send)


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    message = {404: "not found", 405: "method not allowed"}.get(status, "error")
    detail = f"{request.method} {request.url.path} is not part of the Console API"
    headers = dict(exc.headers or {}) if isinstance(exc, HTTPException) else {}
    return error_response(SimError(status, message, detail if status in (404, 405) else "",
                                   headers=headers))


def tcp_socket(family: socket.AddressFamily = socket.AF_INET) -> socket.socket:
    """A listening socket for uvicorn. Its protocol is named: asyncio sets TCP_NODELAY only on
    sockets whose ``proto`` is TCP, and without it a response written as headers then body
    waited ~40 ms for the client's delayed ACK on every request of a kept-alive connection."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


def create_app(state: SimState, faults: Faults | None = None) -> FaultMiddleware:
    """The ASGI app serving ``state`` (fault injection outermost, off unless ``faults`` set)."""
    app = Starlette(routes=SimServer(state).routes(),
                    exception_handlers={HTTPException: _http_error})
    return FaultMiddleware(_Dated(_ReadBody(app), state.clock),  # type: ignore[arg-type]
                           faults or Faults())


class _Dated:
    """Every response's ``Date`` header from the simulator's clock (the one its ``updated_at``
    stamps come from), as a Console's would be: clients may use it as their sync cursor.
    Run uvicorn with ``date_header=False`` so this is the only one."""

    def __init__(self, app: Any, clock: SimClock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Any) -> None:
            if message["type"] == "http.response.start":
                now = format_datetime(self.clock.now(), usegmt=True).encode()
                message["headers"] = [*message.get("headers", []), (b"date", now)]
            await send(message)

        await self.app(scope, receive, dated)

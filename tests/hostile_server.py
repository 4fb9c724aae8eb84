"""A Console we did not write: the contract's shapes, hostile data (an ``httpx.MockTransport``).

It serves ``/me``, every list resource (one page each), single objects, build logs and the
action POSTs from plain dicts the test fills, decodes ids from the raw path as a real server
would (so an id sent without escaping reaches another object), and records every request.
Knobs make it hostile in one way at a time: echo the Authorization header into error bodies
and log lines, answer an action about another object, send a raw body for a path.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
import orjson

from ism_tui.api.models import LIST_RESOURCES

TS = "2026-11-24T09:00:00Z"
PATHS = {"usage/periods": "usage_periods", **{r: r for r in LIST_RESOURCES}}
Obj = dict[str, Any]


def workspace(ws_id: str, **extra: Any) -> Obj:
    return {"id": ws_id, "updated_at": TS, "name": f"name-{ws_id}", "customer_id": "cus-1",
            "owner_email": "owner@example.com", "status": "running", **extra}


def build(ws_id: str, build_id: str, transition: str = "stop", status: str = "pending") -> Obj:
    return {"id": build_id, "workspace_id": ws_id, "build_number": 2, "transition": transition,
            "job_status": status, "created_at": TS}


@dataclass
class HostileConsole:
    token: str
    me: Obj = field(default_factory=lambda: {
        "user_id": "u-op", "email": "op@example.com", "name": "Sam Operator",
        "role": "platform_operator"})
    objects: dict[str, list[Obj]] = field(default_factory=lambda: {r: [] for r in LIST_RESOURCES})
    logs: dict[str, list[Obj]] = field(default_factory=dict)
    # raw body (bytes) or status + error message for a path (``/api/v2`` left out)
    raw: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    echo_auth_in_errors: bool = False
    # action path -> the answer to send instead of the right one
    answers: dict[str, Obj] = field(default_factory=dict)
    requests: list[httpx.Request] = field(default_factory=list)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    @property
    def raw_paths(self) -> list[str]:
        return [r.url.raw_path.decode().partition("?")[0] for r in self.requests]

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        raw_path = request.url.raw_path.decode().partition("?")[0]
        path = raw_path.removeprefix("/api/v2")
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return self._error(request, 401, "unknown token")
        if path in self.raw:
            status, body = self.raw[path]
            return httpx.Response(status, content=body,
                                  headers={"content-type": "application/json"})
        # Split before decoding, as a server does: an escaped ``/`` stays inside its segment.
        segments = [unquote(s) for s in path.strip("/").split("/")]
        if path == "/me":
            return httpx.Response(200, json=self.me)
        joined = "/".join(segments)
        if joined in PATHS and request.method == "GET":
            # stdlib json: it writes integers of any size (the contract sets no maximum)
            body = {"items": self.objects[PATHS[joined]], "next_after_id": None}
            return httpx.Response(200, content=json.dumps(body).encode(),
                                  headers={"content-type": "application/json"})
        return self._object_route(request, segments)

    def _object_route(self, request: httpx.Request, segments: list[str]) -> httpx.Response:
        path = "/" + "/".join(segments)
        if request.method == "POST":
            return self._action(request, segments, path)
        if len(segments) == 2 and segments[0] in ("workspaces", "invites", "customers", "users"):
            found = self._find(segments[0], segments[1])
            return httpx.Response(200, json=found) if found else self._error(request, 404, "no")
        if segments[0] == "workspacebuilds" and len(segments) == 3 and segments[2] == "logs":
            return httpx.Response(200, json={"items": self.logs.get(segments[1], []),
                                             "next_after_id": None})
        if segments[0] == "workspacebuilds" and len(segments) == 2:
            for ws in self.objects["workspaces"]:
                if (ws.get("latest_build") or {}).get("id") == segments[1]:
                    return httpx.Response(200, json=ws["latest_build"])
        return self._error(request, 404, f"nothing at {path}")

    def _action(self, request: httpx.Request, segments: list[str], path: str) -> httpx.Response:
        if path in self.answers:
            return httpx.Response(201, json=self.answers[path])
        if segments[0] == "workspaces" and len(segments) == 3:
            ws = self._find("workspaces", segments[1])
            if ws is None:
                return self._error(request, 404, "no such workspace")
            body = orjson.loads(request.content or b"{}")
            ws["latest_build"] = build(ws["id"], f"b-{ws['id']}", body.get("transition", "start"))
            return httpx.Response(201, json={"request_id": "req-1", "build": ws["latest_build"]})
        if segments[0] == "invites" and len(segments) == 3:
            old = self._find("invites", segments[1])
            if old is None:
                return self._error(request, 404, "no such invite")
            return httpx.Response(201, json={"request_id": "req-2", "invite": {
                **old, "id": old["id"] + "-new", "state": "pending"}})
        return self._error(request, 404, f"nothing at {path}")

    def _find(self, resource: str, object_id: str) -> Obj | None:
        return next((o for o in self.objects[resource] if o["id"] == object_id), None)

    def _error(self, request: httpx.Request, status: int, message: str) -> httpx.Response:
        if self.echo_auth_in_errors:
            cookie = request.headers.get("cookie", "")
            message += (f"; got Authorization: {request.headers.get('authorization')}"
                        f"; Cookie: session={self.token}{cookie}")
        return httpx.Response(status, json={"message": message})

"""Fault injection for the simulator (off by default), as an outermost ASGI middleware.

SPEC is a comma-separated list, e.g.
``latency=200ms,error_rate=0.1,rate_limit=0.05,retry_after=2,drop=0.02,truncate=0.02,
malformed=0.01,extra_fields,hostile,seed=3``:

- ``latency``: added before every request (``200ms``, ``1.5s`` or seconds).
- ``error_rate``: share of requests answered 500 or 503 (503 carries ``Retry-After``).
- ``rate_limit``: share answered 429 with ``Retry-After: <retry_after>`` (default 1 s).
- ``drop``: share whose connection closes without a response (after the request ran, so an
  action may have happened: the client must retry with the same Idempotency-Key).
- ``truncate`` / ``malformed``: share of 2xx bodies cut short / made invalid JSON.
- ``extra_fields``: unknown fields added to every object of every 2xx body.
- ``hostile``: hostile strings (Rich markup, ANSI/OSC escapes, 500 chars, wide and RTL text)
  injected into names and descriptions of every 2xx body.
- ``seed``: the RNG seed (decisions are reproducible per seed and request order; the hostile
  string an object's field gets depends on the seed and the object only).

Faults apply to ``/api/v2`` requests only. Error responses never carry hostile text.
"""

from __future__ import annotations

import asyncio
import random
import threading
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, fields
from typing import Any

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

API_PREFIX = "/api/v2"
RATES = ("error_rate", "rate_limit", "drop", "truncate", "malformed")
FLAGS = ("extra_fields", "hostile")

# The strings a hostile Console (or a hostile tenant naming things) could send.
HOSTILE_STRINGS: tuple[str, ...] = (
    "[bold red]x[/]",
    "[@click=app.quit]click me[/]",
    "ws [/] x",
    "\x1b[2J\x1b[31mCSI red\x1b[0m",
    "\x1b]52;c;aGFja2VkIGNsaXBib2FyZA==\x07",
    "\x1b]0;pwned title\x07",
    "L" * 500,
    "工作区 🚀👩\u200d💻 ｗｉｄｅ",
    "\u202eevil\u202c مرحبا",
)
# Fields that hold names and descriptions (never ids, emails, enums or timestamps).
# Human-readable text only: ``detail`` of audit events is machine data (JSON) and stays intact.
HOSTILE_FIELDS = frozenset((
    "name", "display_name", "customer_name", "template_name", "message",
    "state_reason", "reason", "error", "output", "launch_action",
))
EXTRA_FIELDS: dict[str, Any] = {
    "x_sim_future_field": "added by fault injection",
    "x_sim_future_object": {"nested": [1, 2, 3], "flag": True},
}


@dataclass(frozen=True)
class FaultSpec:
    """Parsed fault settings; all zero/false means no faults."""

    latency: float = 0.0
    error_rate: float = 0.0
    rate_limit: float = 0.0
    retry_after: int = 1
    drop: float = 0.0
    truncate: float = 0.0
    malformed: float = 0.0
    extra_fields: bool = False
    hostile: bool = False
    seed: int = 7

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self) if f.name not in ("seed",
                                                                                 "retry_after"))

    @classmethod
    def parse(cls, spec: str | None) -> FaultSpec:
        """Parse SPEC; raise ValueError naming the bad item and what is accepted."""
        values: dict[str, Any] = {}
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            name, has_value, value = item.partition("=")
            name = name.strip().replace("-", "_")
            if name in FLAGS:
                values[name] = _flag(name, value) if has_value else True
            elif not has_value:
                raise ValueError(f"fault {item!r} needs a value, e.g. {name}=0.1")
            elif name == "latency":
                values[name] = _duration(value)
            elif name in RATES:
                values[name] = _rate(name, value)
            elif name in ("retry_after", "seed"):
                values[name] = _integer(name, value)
            else:
                accepted = ", ".join(("latency", *RATES, "retry_after", "seed", *FLAGS))
                raise ValueError(f"unknown fault {name!r}; accepted: {accepted}")
        return cls(**values)


def _duration(value: str) -> float:
    text = value.strip().lower()
    try:
        if text.endswith("ms"):
            seconds = float(text[:-2]) / 1000
        else:
            seconds = float(text.removesuffix("s"))
    except ValueError:
        raise ValueError(f"latency {value!r} is not a duration; use e.g. 200ms or 1.5s") from None
    if not 0 <= seconds <= 60:
        raise ValueError(f"latency {value!r} must be between 0 and 60 s")
    return seconds


def _rate(name: str, value: str) -> float:
    try:
        rate = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number; use a rate from 0 to 1") from None
    if not 0 <= rate <= 1:
        raise ValueError(f"{name}={value!r} must be a rate from 0 to 1")
    return rate


def _integer(name: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a whole number") from None
    if number < 0:
        raise ValueError(f"{name}={value!r} must not be negative")
    return number


def _flag(name: str, value: str) -> bool:
    text = value.strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name}={value!r}: use {name} alone, or {name}=true/false")


class Faults:
    """The current fault settings and their seeded RNG; thread-safe to change at runtime."""

    def __init__(self, spec: FaultSpec | str | None = None) -> None:
        self._lock = threading.Lock()
        self.spec = FaultSpec()
        self._rng = random.Random(self.spec.seed)
        self.set(spec)

    def set(self, spec: FaultSpec | str | None) -> None:
        parsed = spec if isinstance(spec, FaultSpec) else FaultSpec.parse(spec)
        with self._lock:
            self.spec = parsed
            self._rng = random.Random(parsed.seed)

    def draw(self) -> float:
        with self._lock:
            return self._rng.random()

    def choice(self, options: tuple[str, ...], *key: str) -> str:
        """One of ``options`` chosen by the seed and ``key`` alone: an object's hostile name
        is the same in every response, whatever the order of requests (as a real tenant's
        names would be)."""
        digest = zlib.crc32(":".join((str(self.spec.seed), *key)).encode())
        return options[digest % len(options)]


class FaultMiddleware:
    """Wraps the simulator app; must be outermost so ``drop`` can reach the connection."""

    def __init__(self, app: ASGIApp, faults: Faults) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        spec = self.faults.spec
        if scope["type"] != "http" or not spec.active or not _is_api(scope["path"]):
            await self.app(scope, receive, send)
            return
        if spec.latency:
            await asyncio.sleep(spec.latency)
        if spec.rate_limit and self.faults.draw() < spec.rate_limit:
            await _error(send, 429, "rate limited", "slow down and retry", spec.retry_after)
            return
        if spec.error_rate and self.faults.draw() < spec.error_rate:
            if self.faults.draw() < 0.5:
                await _error(send, 500, "internal error", "injected fault", None)
            else:
                await _error(send, 503, "service unavailable", "injected fault", spec.retry_after)
            return
        drop = spec.drop and self.faults.draw() < spec.drop
        truncate = spec.truncate and self.faults.draw() < spec.truncate
        malformed = spec.malformed and self.faults.draw() < spec.malformed
        if not (drop or truncate or malformed or spec.extra_fields or spec.hostile):
            await self.app(scope, receive, send)
            return
        status, headers, body = await _capture(self.app, scope, receive)
        if drop:
            await _drop(send)
            return
        if 200 <= status < 300 and body:
            if spec.extra_fields or spec.hostile:
                body = orjson.dumps(self._decorate(orjson.loads(body), spec))
            if malformed:
                body = b'{"items": [{"id": "broken",, }' + body[:40]
            elif truncate:
                body = body[: max(1, len(body) // 2)]
        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _decorate(self, value: Any, spec: FaultSpec, owner: str = "") -> Any:
        if isinstance(value, list):
            return [self._decorate(v, spec, f"{owner}[{i}]") for i, v in enumerate(value)]
        if not isinstance(value, dict):
            return value
        owner = str(value.get("id") or owner)
        out = {k: self._decorate(v, spec, f"{owner}.{k}") for k, v in value.items()}
        if spec.hostile:
            for key, text in out.items():
                if key in HOSTILE_FIELDS and isinstance(text, str):
                    out[key] = f"{text} {self.faults.choice(HOSTILE_STRINGS, owner, key)}"
        if spec.extra_fields and "id" in out:
            out.update(EXTRA_FIELDS)
        return out


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


async def _capture(app: ASGIApp, scope: Scope, receive: Receive) -> tuple[int, list[Any], bytes]:
    status = 500
    headers: list[Any] = []
    chunks: list[bytes] = []

    async def capture(message: Message) -> None:
        nonlocal status, headers
        if message["type"] == "http.response.start":
            status = message["status"]
            headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, capture)
    return status, headers, b"".join(chunks)


async def _error(send: Send, status: int, message: str, detail: str,
                 retry_after: int | None) -> None:
    body = orjson.dumps({"message": message, "detail": detail, "validations": []})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after is not None:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _drop(send: Send) -> None:
    """Close the connection without a response (uvicorn: the cycle's transport)."""
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("injected fault: dropped connection")  # other servers: a 500
    transport.close()
    # Let connection_lost run so the server sees a disconnect rather than a missing response.
    for _ in range(3):
        await asyncio.sleep(0)

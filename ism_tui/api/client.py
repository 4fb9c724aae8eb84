"""The Console API client: httpx ``AsyncClient``, bearer auth, keyset pages, retries, typed errors.

Idempotent requests (GETs, and action POSTs because each carries an ``Idempotency-Key``) are
retried with exponential backoff and jitter (stamina), honouring ``Retry-After`` up to a cap.
The token lives only in the request headers: it is never logged, put in a message or a repr.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import functools
import logging
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpcore
import httpx
import orjson
import stamina
import stamina.instrumentation
from pydantic import BaseModel, ValidationError

from ism_tui.api import bulk
from ism_tui.api import models as m
from ism_tui.api.address import API_PREFIX, normalise_base_url
from ism_tui.api.errors import (
    ApiError,
    AuthError,
    Conflict,
    ContractViolation,
    InvalidId,
    NotFound,
    PermissionDenied,
    RateLimited,
    Unavailable,
    ValidationFailed,
    same_object,
    server_reason,
)
from ism_tui.redact import register_secret

M = TypeVar("M", bound=BaseModel)

# Resource name -> URL path (relative to the base URL, which ends with /api/v2).
RESOURCE_PATHS: dict[str, str] = {name: f"/{name}" for name in m.LIST_RESOURCES}
RESOURCE_PATHS["usage_periods"] = "/usage/periods"
SINGLE_PATHS = {"customers", "users", "invites", "workspaces"}
USER_AGENT = "ism-tui/0.1"
_SPENT = httpx.ByteStream(b"")  # what a read response's stream becomes (``_once``)
# httpcore reads a body 64 KiB at a time, each read a trip through anyio and the event loop,
# and a list page runs to megabytes: reads of up to 1 MiB (asyncio hands over at most 256 KiB
# at once) take a fraction of the trips. A class attribute of httpcore's public HTTP/1.1
# connection: a release without it just reads as before.
httpcore.AsyncHTTP11Connection.READ_NUM_BYTES = 1 << 20


class MalformedResponse(ContractViolation):
    """Truncated or non-JSON body: often a proxy or a dropped connection, so worth a retry."""

    retryable = True


@dataclass
class PageResult:
    """One keyset page: live objects, tombstone ids, and where the next page starts.

    ``items`` are the fast decoder's structs (``api.bulk``): the same attribute names and
    values as the resource's pydantic model, but timestamps and dates are the RFC 3339 text
    the server sent (checked by the decoder).
    """

    items: list[Any]
    deleted: list[str]
    next_after_id: str | None
    # The server's clock when it answered (its ``Date`` header), if it sent one.
    served_at: dt.datetime | None = None
    # Objects left out, each named with what is wrong (``api.bulk.in_range``)
    rejected: list[str] = field(default_factory=list)


@dataclass
class RetryPolicy:
    attempts: int = 5
    timeout: float = 60.0
    wait_initial: float = 0.2
    wait_max: float = 5.0
    max_retry_after: float = 30.0


@dataclass
class ClientOptions:
    profile: str = "default"
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)


def segment(object_id: str) -> str:
    """An object id as one URL path segment: ids are data the Console sent, so ``/``, ``?``,
    ``#`` and ``%`` in one are escaped rather than read as path syntax. An empty id, ``.`` or
    ``..`` cannot be one segment (servers and proxies resolve dot segments): refused before
    any request."""
    if not isinstance(object_id, str) or object_id in ("", ".", ".."):
        raise InvalidId(f"refusing to send a request for id {object_id!r}: it cannot be sent "
                        "as one URL path segment (the Console sent an id that is not usable)")
    return quote(object_id, safe="")


def origin_of(url: str) -> str:
    """Scheme, host and port only: what messages may name."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def http_date(value: str | None) -> dt.datetime | None:
    """An HTTP ``Date`` header as an aware UTC datetime; None if absent or unreadable."""
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return when.astimezone(dt.UTC) if when.tzinfo else when.replace(tzinfo=dt.UTC)


log = logging.getLogger("ism_tui.api")


def _on_retry(details: stamina.instrumentation.RetryDetails) -> None:
    """Retries go to our logger at INFO: stamina's default hook logged a bare
    ``stamina.retry_scheduled`` WARNING that Python printed to stderr, across the sync progress
    bar. Outcomes are still reported: success, or the typed error after the last attempt."""
    cause = details.caused_by
    log.info("retry %d in %.1f s after %s", details.retry_num, details.wait_for,
             str(cause) if isinstance(cause, ApiError) else cause.__class__.__name__)


stamina.instrumentation.set_on_retry_hooks([_on_retry])


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verifying TLS context (certifi, or SSL_CERT_FILE/SSL_CERT_DIR), built
    once per process: loading the CA store is slow, and every client (each sync, each action)
    paid it when httpx built its own."""
    return httpx.create_ssl_context()


class ConsoleClient:
    """Async client of one Console. Use as ``async with ConsoleClient(url, token) as c:``."""

    def __init__(self, base_url: str, token: str, options: ClientOptions | None = None, *,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        register_secret(token)
        self.base_url = normalise_base_url(base_url)
        self.origin = origin_of(self.base_url)
        self.options = options or ClientOptions()
        timeout = httpx.Timeout(self.options.read_timeout, connect=self.options.connect_timeout)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, timeout=timeout, transport=transport,
            headers={"Authorization": f"Bearer {token}", "User-Agent": USER_AGENT,
                     "Accept": "application/json"},
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=16),
            verify=_tls_context(),
        )
        # resource -> the listed objects left out of their pages (``PageResult.rejected``)
        self.rejected: dict[str, list[str]] = {}

    def __repr__(self) -> str:
        return f"ConsoleClient({self.origin!r}, profile={self.options.profile!r})"

    async def __aenter__(self) -> ConsoleClient:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # ------------------------------------------------------------------ reads

    async def me(self) -> m.Me:
        try:
            body = await self._json("GET", "/me")
        except NotFound:
            # /me always exists on a Console: a 404 means the URL points elsewhere.
            raise NotFound(
                f"{self.base_url}/me answered 404 (not found): the Console URL of profile "
                f"{self.options.profile!r} looks wrong. Expected the Console's address, e.g. "
                f"https://console.example.com (ism-tui adds {API_PREFIX}) or "
                f"https://console.example.com{API_PREFIX}") from None
        return self._model(m.Me, body, "/me")

    async def page(self, resource: str, *, after_id: str | None = None,
                   updated_since: dt.datetime | str | None = None, limit: int = 1000,
                   **filters: str | None) -> PageResult:
        """One page of a list resource; tombstones come back as ``deleted`` ids."""
        path = RESOURCE_PATHS[resource]
        params: dict[str, Any] = {"limit": max(1, min(limit, 5000))}
        if after_id:
            params["after_id"] = after_id
        if updated_since is not None:
            params["updated_since"] = (updated_since if isinstance(updated_since, str)
                                       else updated_since.isoformat().replace("+00:00", "Z"))
        params.update({k: v for k, v in filters.items() if v is not None})
        seen: dict[str, str] = {}
        body = await self._json("GET", path, params=params,
                                decode=bulk.page_decoder(resource), seen=seen)
        objects = body.items
        items = [o for o in objects if not o.deleted]
        deleted = [o.id for o in objects if o.deleted]
        items, rejected = bulk.in_range(resource, items)
        for problem in rejected:
            log.warning("%s: left out of the cache", problem)
        self.rejected.setdefault(resource, []).extend(rejected)
        return PageResult(items, deleted, body.next_after_id,
                          served_at=http_date(seen.get("date")), rejected=rejected)

    async def iter_pages(self, resource: str, *, after_id: str | None = None,
                         updated_since: dt.datetime | str | None = None, limit: int = 1000,
                         **filters: str | None) -> AsyncIterator[PageResult]:
        """Every page of a list resource, following ``next_after_id``."""
        while True:
            result = await self.page(resource, after_id=after_id, updated_since=updated_since,
                                     limit=limit, **filters)
            yield result
            if not result.next_after_id or result.next_after_id == after_id:
                return
            after_id = result.next_after_id

    async def get(self, resource: str, object_id: str) -> m.Resource:
        if resource not in SINGLE_PATHS:
            raise ValueError(f"{resource} has no single-object endpoint")
        path = f"{RESOURCE_PATHS[resource]}/{segment(object_id)}"
        model = m.LIST_RESOURCES[resource]
        found = self._model(model, await self._json("GET", path), path)
        same_object(resource.removesuffix("s"), object_id, found.id)
        problem = bulk.out_of_range(found)
        if problem:
            raise ContractViolation(f"{path}: {problem}: the server at {self.origin} does not "
                                    "follow the Console API contract")
        return found

    async def get_build(self, build_id: str) -> m.Build:
        path = f"/workspacebuilds/{segment(build_id)}"
        found = self._model(m.Build, await self._json("GET", path), path)
        same_object("build", build_id, found.id)
        return found

    async def build_logs(self, build_id: str, *, after: int | None = None,
                         limit: int = 1000) -> m.Page[m.BuildLog]:
        path = f"/workspacebuilds/{segment(build_id)}/logs"
        params: dict[str, Any] = {"limit": max(1, min(limit, 5000))}
        if after is not None:
            params["after"] = after
        body = await self._json("GET", path, params=params)
        page = self._model(m.Page[m.BuildLog], body, path)
        for line in page.items:
            same_object("build", build_id, line.build_id, what="the log lines of build")
        return page

    # ------------------------------------------------------------------ actions

    async def create_build(self, workspace_id: str, transition: str, *,
                           idempotency_key: str) -> m.ActionResult:
        return await self._action(f"/workspaces/{segment(workspace_id)}/builds",
                                  idempotency_key, {"transition": transition})

    async def cancel_build(self, build_id: str, *, idempotency_key: str) -> m.ActionResult:
        return await self._action(f"/workspacebuilds/{segment(build_id)}/cancel",
                                  idempotency_key)

    async def retry_workspace(self, workspace_id: str, *, idempotency_key: str) -> m.ActionResult:
        return await self._action(f"/workspaces/{segment(workspace_id)}/retry", idempotency_key)

    async def reissue_invite(self, invite_id: str, *, idempotency_key: str) -> m.ActionResult:
        return await self._action(f"/invites/{segment(invite_id)}/reissue", idempotency_key)

    async def _action(self, path: str, key: str,
                      payload: dict[str, Any] | None = None) -> m.ActionResult:
        body = await self._json("POST", path, json=payload or {},
                                headers={"Idempotency-Key": key})
        return self._model(m.ActionResult, body, path)

    # ------------------------------------------------------------------ plumbing

    async def _json(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                    json: Any = None, headers: dict[str, str] | None = None,
                    decode: Callable[[bytes], Any] | None = None,
                    seen: dict[str, str] | None = None) -> Any:
        """The decoded body of a successful response (``decode``: a validating decoder);
        ``seen`` receives the response's ``date`` header."""
        policy = self.options.retry

        def backoff(exc: BaseException) -> bool | float:
            if not isinstance(exc, ApiError) or not exc.retryable:
                return False
            if exc.retry_after is not None:
                return min(max(exc.retry_after, 0.0), policy.max_retry_after)
            return True

        async for attempt in stamina.retry_context(
            on=backoff, attempts=policy.attempts, timeout=policy.timeout,
            wait_initial=policy.wait_initial, wait_max=policy.wait_max,
        ):
            with attempt:
                return await self._once(method, path, params, json, headers, decode, seen)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _once(self, method: str, path: str, params: dict[str, Any] | None, json: Any,
                    headers: dict[str, str] | None,
                    decode: Callable[[bytes], Any] | None = None,
                    seen: dict[str, str] | None = None) -> Any:
        try:
            response = await self._http.request(method, path, params=params, json=json,
                                                headers=headers)
            content = await response.aread()
            # A read response and its stream refer to each other (httpx's BoundAsyncStream):
            # that cycle kept the body (megabytes, a list page) until a full collection. The
            # stream is spent; without it the response goes as soon as it is dropped.
            response.stream = _SPENT
        except httpx.TimeoutException as exc:
            raise Unavailable(
                f"{self.origin} did not answer {method} {path} in time "
                f"({exc.__class__.__name__}, read timeout {self.options.read_timeout:g}s): the "
                "Console may be overloaded; the console keeps showing the cache, try again later"
            ) from None
        except httpx.TransportError as exc:
            raise Unavailable(
                f"cannot reach {self.origin} ({exc.__class__.__name__}): check the url of "
                f"profile {self.options.profile!r} and that the Console is up; the console "
                "keeps showing the cache"
            ) from None
        if response.status_code >= 400:
            raise self._error(method, path, response, content)
        if seen is not None and "date" in response.headers:
            seen["date"] = response.headers["date"]
        if decode is not None:
            try:
                return decode(content)
            except bulk.ValidationError as exc:
                field_path, what = bulk.error_location(exc)
                named = bulk.object_named(content, field_path)
                raise ContractViolation(
                    f"{path}: {named + ': ' if named else ''}field {field_path!r} "
                    f"{what[:1].lower()}{what[1:]}: the server at {self.origin} does not follow "
                    "the Console API contract (the page was not stored)") from None
            except bulk.DecodeError as exc:
                raise MalformedResponse(
                    f"{method} {path} returned malformed JSON ({exc}; {len(content)} bytes): "
                    f"the server at {self.origin} does not follow the contract") from None
        try:
            return orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise MalformedResponse(
                f"{method} {path} returned malformed JSON ({exc.msg} at byte {exc.pos} of "
                f"{len(content)}): the server at {self.origin} does not follow the contract"
            ) from None

    def _error(self, method: str, path: str, response: httpx.Response,
               content: bytes) -> ApiError:
        status = response.status_code
        reason, validations = "", ""
        try:
            err = m.Error.model_validate(orjson.loads(content))
            reason = server_reason(err.message)
            if err.validations:
                validations = "; ".join(server_reason(f"{v.field}: {v.detail}")
                                        for v in err.validations)
        except (orjson.JSONDecodeError, ValidationError):
            pass
        retry_after = _retry_after(response.headers.get("Retry-After"))
        said = f": {reason}" if reason else ""
        profile = self.options.profile
        if status == 401:
            return AuthError(
                f"the token was rejected (401) by {self.origin}{said}: it may have expired or "
                "been revoked. Set a valid one in ISM_TUI_TOKEN, in the token file of profile "
                f"{profile!r} (token_file, chmod 600) or in the OS keyring (keyring = true)",
                reason=reason)
        if status == 403:
            return PermissionDenied(
                f"not allowed for this token's role (403) on {method} {path}{said}",
                reason=reason)
        if status == 404:
            return NotFound(
                f"not found (404): {method} {path} on {self.origin}{said}. It may have been "
                "deleted, or it is outside this token's customer scope", reason=reason)
        if status == 409:
            return Conflict(f"the Console refused (409){said or ': conflicting state'}",
                            reason=reason)
        if status == 422:
            extra = f" ({validations})" if validations else ""
            return ValidationFailed(f"the Console rejected the request (422){said}{extra}",
                                    reason=reason)
        if status == 429:
            wait = f"; it asked to wait {retry_after:g}s" if retry_after is not None else ""
            return RateLimited(f"rate limited by {self.origin} (429){wait}; try again shortly",
                               retry_after=retry_after, reason=reason)
        if status >= 500:
            return Unavailable(
                f"{self.origin} is unavailable ({status}){said}; the console keeps showing the "
                "cache, try again later", status=status, retry_after=retry_after, reason=reason)
        return ContractViolation(f"{method} {path} answered with unexpected status {status}",
                                 status=status, reason=reason)

    def _model(self, model: type[M], body: Any, path: str) -> M:
        try:
            return model.model_validate(body)
        except ValidationError as exc:
            raise self._violation(path, exc) from None

    def _violation(self, path: str, exc: ValidationError) -> ContractViolation:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"]) or "(body)"
        return ContractViolation(
            f"{path}: field {loc!r} {first['msg'].lower()} ({exc.error_count()} problem(s)): "
            f"the server at {self.origin} does not follow the Console API contract")


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        try:
            from email.utils import parsedate_to_datetime

            when = parsedate_to_datetime(value)
            return max((when - dt.datetime.now(dt.UTC)).total_seconds(), 0.0)
        except (TypeError, ValueError):
            return None

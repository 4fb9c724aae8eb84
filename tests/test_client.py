"""The API client against ``httpx.MockTransport``: retries, typed errors, no token leaks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from ism_tui.api import errors
from ism_tui.api.client import ClientOptions, ConsoleClient, RetryPolicy

TOKEN = "tok-SECRET-9f8e7d"
FAST = RetryPolicy(attempts=4, timeout=5, wait_initial=0.001, wait_max=0.01, max_retry_after=0.05)
BASE = "https://console.example.com/api/v2"
WS = {"id": "ws-1", "updated_at": "2026-11-24T09:00:00Z", "name": "a", "owner_user_id": "u",
      "owner_email": "u@x", "customer_id": "c", "template_alias": "t", "target_id": "g",
      "status": "running"}


def run(handler: Callable[[httpx.Request], httpx.Response], call: Callable[[ConsoleClient], Any],
        policy: RetryPolicy = FAST) -> Any:
    async def go() -> Any:
        client = ConsoleClient(BASE, TOKEN, ClientOptions(profile="prod", retry=policy),
                               transport=httpx.MockTransport(handler))
        async with client:
            return await call(client)
    return asyncio.run(go())


def test_pages_follow_next_after_id_and_split_tombstones() -> None:
    seen: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        seen.append(dict(request.url.params))
        if "after_id" not in request.url.params:
            return httpx.Response(200, json={"items": [WS], "next_after_id": "ws-1"})
        tomb = {"id": "ws-0", "updated_at": "2026-11-24T09:00:00Z", "deleted": True}
        return httpx.Response(200, json={"items": [tomb], "next_after_id": None})

    async def call(c: ConsoleClient) -> list[Any]:
        return [p async for p in c.iter_pages("workspaces", updated_since="2026-11-01T00:00:00Z",
                                               limit=2)]
    pages = run(handler, call)
    assert [len(p.items) for p in pages] == [1, 0] and pages[1].deleted == ["ws-0"]
    assert seen[1]["after_id"] == "ws-1" and seen[0]["updated_since"] == "2026-11-01T00:00:00Z"


def test_unknown_fields_are_accepted() -> None:
    body = {"items": [{**WS, "brand_new_field": {"x": 1}}], "next_after_id": None, "extra": 1}
    page = run(lambda r: httpx.Response(200, json=body), lambda c: c.page("workspaces"))
    assert page.items[0].name == "a"


def test_503_then_success_is_retried_and_429_honours_retry_after(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            return httpx.Response(503, json={"message": "maintenance"},
                                  headers={"Retry-After": "0"})
        if len(calls) == 2:
            return httpx.Response(429, json={"message": "slow down"},
                                  headers={"Retry-After": "1"})
        return httpx.Response(200, json={"user_id": "u", "email": "e", "name": "n",
                                         "role": "platform_operator"})
    me = run(handler, lambda c: c.me())
    assert me.role == "platform_operator" and len(calls) == 3
    # retries are noted at INFO (nothing printed across a progress bar), with the reason
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    notes = [r.getMessage() for r in caplog.records if r.name == "ism_tui.api"]
    assert len(notes) == 2 and "maintenance" in notes[0] and TOKEN not in " ".join(notes)


def test_persistent_rate_limit_ends_in_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"message": "slow"}, headers={"Retry-After": "7"})
    with pytest.raises(errors.RateLimited, match=r"asked to wait 7s") as err:
        run(handler, lambda c: c.me())
    assert err.value.retry_after == 7


@pytest.mark.parametrize(("status", "kind", "words"), [
    (401, errors.AuthError, "token file of profile 'prod'"),
    (403, errors.PermissionDenied, "not allowed for this token's role"),
    (404, errors.NotFound, "the Console URL of profile 'prod' looks wrong"),
    (409, errors.Conflict, "build is running"),
    (422, errors.ValidationFailed, "limit: too big"),
])
def test_each_status_maps_to_a_typed_actionable_error(status: int, kind: type, words: str) -> None:
    body = {"message": "build is running", "validations": [{"field": "limit",
                                                             "detail": "too big"}]}
    with pytest.raises(kind) as err:
        run(lambda r: httpx.Response(status, json=body), lambda c: c.me())
    assert words in str(err.value)
    assert TOKEN not in str(err.value) and TOKEN not in repr(err.value)


def test_malformed_json_is_retried_then_reported_as_contract_violation() -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, content=b'{"items": [{"id": "ws-1", "upd')
    with pytest.raises(errors.ContractViolation, match=r"malformed JSON"):
        run(handler, lambda c: c.page("workspaces"))
    assert len(calls) == FAST.attempts


def test_schema_mismatch_names_the_object_and_field() -> None:
    bad = {"items": [WS, {**WS, "id": "ws-odd", "apps": "none"}], "next_after_id": None}
    with pytest.raises(errors.ContractViolation, match=r"object 'ws-odd' \(items\[1\]\): "
                       r"field 'items.1.apps'"):
        run(lambda r: httpx.Response(200, json=bad), lambda c: c.page("workspaces"))


def test_connection_refused_is_unavailable_and_names_the_profile() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)
    with pytest.raises(errors.Unavailable, match=r"cannot reach https://console.example.com"):
        run(handler, lambda c: c.me())


def test_actions_send_the_same_idempotency_key_on_retries() -> None:
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        if len(keys) == 1:
            raise httpx.ReadError("dropped", request=request)
        return httpx.Response(201, json={"request_id": "req-1"})
    result = run(handler, lambda c: c.retry_workspace("ws-1", idempotency_key="key-42"))
    assert result.request_id == "req-1" and keys == ["key-42", "key-42"]


def test_token_is_never_logged_or_in_the_repr(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"message": "boom"})
    with pytest.raises(errors.Unavailable):
        run(handler, lambda c: c.me())
    client = ConsoleClient(BASE, TOKEN)
    assert TOKEN not in repr(client)
    assert TOKEN not in caplog.text


def test_a_read_response_goes_with_its_last_reference_not_at_a_collection() -> None:
    """A list page's body (~3.5 MB at 5,000 workspaces) is freed once the page is decoded:
    nothing waits for a cyclic collection to free it."""
    import gc
    import weakref

    responses: list[weakref.ref[httpx.Response]] = []

    async def keep(response: httpx.Response) -> None:
        responses.append(weakref.ref(response))

    async def call(c: ConsoleClient) -> Any:
        c._http.event_hooks = {"response": [keep]}
        return await c.page("workspaces")

    gc.disable()
    try:
        page = run(lambda r: httpx.Response(200, json={"items": [WS], "next_after_id": None}),
                   call)
        assert page.items[0].id == "ws-1"
        assert len(responses) == 1 and responses[0]() is None
    finally:
        gc.enable()

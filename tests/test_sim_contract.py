"""The simulator over real HTTP: every response follows the OpenAPI contract, actions move
through their state machines, tokens are scoped, and idempotency keys replay."""

from __future__ import annotations

import httpx
import pytest
from conftest import FROZEN_NOW

from ism_tui.sim.testing import ContractChecker, running_simulator

LISTS = {"customers": "/customers", "users": "/users", "invites": "/invites",
         "targets": "/targets", "templates": "/templates", "workspaces": "/workspaces",
         "usage": "/usage", "usage_periods": "/usage/periods", "audit": "/audit"}
TOKENS = ("demo-operator", "demo-admin", "demo-member")


@pytest.fixture(scope="module")
def sim():
    with running_simulator(now=FROZEN_NOW) as handle:
        yield handle


@pytest.fixture(scope="module")
def contract():
    return ContractChecker()


def _client(sim, token="demo-operator") -> httpx.Client:
    return httpx.Client(base_url=sim.base_url, headers={"Authorization": f"Bearer {token}"},
                        timeout=10)


def _check(contract, method, template, response) -> dict:
    body = response.json()
    assert contract.errors(method, template, response.status_code, body) == []
    return body


@pytest.mark.parametrize("token", TOKENS)
def test_every_list_and_me_follow_the_contract(sim, contract, token):
    with _client(sim, token) as c:
        _check(contract, "GET", "/me", c.get("/me"))
        for path in LISTS.values():
            r = c.get(path, params={"limit": 50})
            if token == "demo-member" and path in ("/usage", "/usage/periods", "/audit"):
                assert r.status_code == 403
            else:
                assert r.status_code == 200, (path, r.text)
            _check(contract, "GET", path, r)


def test_keyset_pages_cover_everything_once(sim, contract):
    seen: list[str] = []
    with _client(sim) as c:
        after = None
        while True:
            params = {"limit": 17} | ({"after_id": after} if after else {})
            body = _check(contract, "GET", "/users", c.get("/users", params=params))
            seen += [u["id"] for u in body["items"]]
            after = body.get("next_after_id")
            if not after:
                break
    assert len(seen) == len(set(seen)) == len(sim.world.collection("users"))


def test_error_shapes(sim, contract):
    with _client(sim, "wrong-token") as c:
        _check(contract, "GET", "/workspaces", c.get("/workspaces"))
        assert c.get("/workspaces").status_code == 401
    with _client(sim) as c:
        r = c.get("/workspaces/ws-does-not-exist")
        assert r.status_code == 404
        _check(contract, "GET", "/workspaces/{id}", r)
        r = c.get("/workspaces", params={"limit": 0})
        assert r.status_code == 422
        _check(contract, "GET", "/workspaces", r)
        body = r.json()
        assert "token" not in r.text.lower() or "demo" not in r.text
        assert body["message"]


def test_rate_limit_and_unavailable_carry_retry_after(contract):
    with running_simulator(now=FROZEN_NOW, faults="rate_limit=1,retry_after=3") as s:
        with _client(s) as c:
            r = c.get("/customers")
            assert r.status_code == 429 and r.headers["Retry-After"] == "3"
            _check(contract, "GET", "/customers", r)
    with running_simulator(now=FROZEN_NOW, faults="error_rate=1") as s:
        with _client(s) as c:
            r = c.get("/customers")
            assert r.status_code >= 500
            _check(contract, "GET", "/customers", r)


def test_admin_sees_only_their_customer(sim):
    me = sim.world.tokens["demo-admin"]
    with _client(sim, "demo-admin") as c:
        for path in ("/customers", "/users", "/invites", "/workspaces"):
            items = c.get(path, params={"limit": 1000}).json()["items"]
            assert items
            ids = {i["id"] if path == "/customers" else i["customer_id"] for i in items}
            assert ids == {me["customer_id"]}
        other = next(w for w in sim.world.collection("workspaces").values()
                     if w["customer_id"] != me["customer_id"])
        assert c.get(f"/workspaces/{other['id']}").status_code in (403, 404)


def test_member_is_refused_every_action(sim, contract):
    ws = next(iter(sim.world.collection("workspaces").values()))
    with _client(sim, "demo-member") as c:
        r = c.post(f"/workspaces/{ws['id']}/builds", json={"transition": "stop"},
                   headers={"Idempotency-Key": "m-1"})
        assert r.status_code in (403, 404)
        _check(contract, "POST", "/workspaces/{id}/builds", r)


def test_stop_runs_pending_running_succeeded_and_replays():
    with running_simulator(now=FROZEN_NOW) as s:
        ws = next(w for w in s.world.collection("workspaces").values()
                  if w["status"] == "running")
        contract = ContractChecker()
        with _client(s) as c:
            first = c.post(f"/workspaces/{ws['id']}/builds", json={"transition": "stop"},
                           headers={"Idempotency-Key": "stop-1"})
            assert first.status_code == 201, first.text
            body = _check(contract, "POST", "/workspaces/{id}/builds", first)
            build_id = body["build"]["id"]
            assert body["build"]["job_status"] in ("pending", "running")
            again = c.post(f"/workspaces/{ws['id']}/builds", json={"transition": "stop"},
                           headers={"Idempotency-Key": "stop-1"})
            assert again.json()["build"]["id"] == build_id  # replayed, not a second build
            s.advance(120)
            done = _check(contract, "GET", "/workspacebuilds/{id}",
                          c.get(f"/workspacebuilds/{build_id}"))
            assert done["job_status"] == "succeeded"
            now = c.get(f"/workspaces/{ws['id']}").json()
            assert now["status"] == "stopped"
            conflict = c.post(f"/workspaces/{ws['id']}/builds", json={"transition": "stop"},
                              headers={"Idempotency-Key": "stop-2"})
            assert conflict.status_code == 409 and conflict.json()["message"]
            _check(contract, "POST", "/workspaces/{id}/builds", conflict)


def test_cancel_passes_through_canceling():
    with running_simulator(now=FROZEN_NOW) as s:
        ws = next(w for w in s.world.collection("workspaces").values()
                  if w["status"] == "running")
        with _client(s) as c:
            build = c.post(f"/workspaces/{ws['id']}/builds", json={"transition": "stop"},
                           headers={"Idempotency-Key": "k1"}).json()["build"]
            r = c.post(f"/workspacebuilds/{build['id']}/cancel", headers={"Idempotency-Key": "k2"})
            assert r.status_code in (200, 201, 202), r.text
            assert r.json()["build"]["job_status"] in ("canceling", "canceled")
            s.advance(120)
            assert c.get(f"/workspacebuilds/{build['id']}").json()["job_status"] == "canceled"


def test_reissue_revokes_the_old_invite_and_never_returns_a_link():
    with running_simulator(now=FROZEN_NOW) as s:
        inv = next(i for i in s.world.collection("invites").values() if i["state"] == "expired")
        with _client(s) as c:
            r = c.post(f"/invites/{inv['id']}/reissue", headers={"Idempotency-Key": "r1"})
            assert r.status_code in (200, 201), r.text
            new = r.json()["invite"]
            assert new["id"] != inv["id"] and new["email"] == inv["email"]
            assert "http" not in r.text and "token" not in r.text.lower()
            assert c.get(f"/invites/{inv['id']}").json()["state"] == "revoked"
            second = c.post(f"/invites/{inv['id']}/reissue", headers={"Idempotency-Key": "r1"})
            assert second.json()["invite"]["id"] == new["id"]

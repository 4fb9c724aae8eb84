"""The simulator's scenarios: valid wire data, deterministic, and every playbook case really there.

The same checks run on the demo World and on small scale Worlds: each named case example must
show its case in the data (not only carry the label), and every object showing a case must be
named (so triage finds exactly the examples, and healthy objects stay healthy).
"""

from __future__ import annotations

import ipaddress
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest

from ism_tui.api import models as m
from ism_tui.sim import scenario_demo, scenario_scale
from ism_tui.sim.scenarios import build_world
from ism_tui.sim.world import DEMO_CASES, World

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
BLOCKERS = m.CREATE_BLOCKER_CODES
CUSTOMER_LEVEL = ("billing_approval_missing", "prepaid_balance_missing", "ai_credit_missing",
                  "sso_incomplete")
ANALYTICS = tuple(c for c in DEMO_CASES if c.startswith("analytics_empty:"))


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def internal_host(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost" or host.endswith((".local", ".internal", ".svc"))
    return ip.is_private or ip.is_loopback or ip.is_link_local


@pytest.fixture(scope="module")
def demo() -> World:
    return scenario_demo.build(NOW, seed=7)


@pytest.fixture(scope="module")
def small_scale() -> World:
    return scenario_scale.build(NOW, seed=7, workspaces=2000)


@pytest.fixture(scope="module")
def mid_scale() -> World:
    return scenario_scale.build(NOW, seed=11, workspaces=20_000)


# ------------------------------------------------------------------ helpers shared by both worlds


def assert_wire_valid(world: World, step: int = 1) -> None:
    """Every ``step``-th object validates and is exactly its model's JSON dump."""
    for resource, model in m.LIST_RESOURCES.items():
        objs = list(world.collection(resource).values())
        assert objs, resource
        for obj in objs[::step]:
            assert model.model_validate(obj).model_dump(mode="json") == obj, (resource, obj["id"])
    for build in list(world.builds.values())[::step]:
        assert m.Build.model_validate(build).model_dump(mode="json") == build
    for lines in world.build_logs.values():
        for line in lines:
            assert m.BuildLog.model_validate(line).model_dump(mode="json") == line
    for me in world.tokens.values():
        m.Me.model_validate(me)


def empty_view(world: World, cid: str) -> dict[str, Any]:
    """The customer's empty-analytics audit event, checked; returns its parsed detail."""
    events = [a for a in world.audit.values() if a["action"] == "analytics.view"
              and a["result"] == "empty" and a["customer_id"] == cid]
    assert events, cid
    event = events[-1]
    actor = world.users[event["actor_user_id"]]
    assert (actor["role"], actor["customer_id"]) == ("customer_admin", cid)
    assert event["actor_email"] == actor["email"] and event["target_type"] == "analytics"
    detail = json.loads(event["detail"])
    assert list(detail) == ["customer_id", "from", "to", "rows_shown"]
    assert detail["customer_id"] == cid and detail["rows_shown"] == 0
    assert date.fromisoformat(detail["from"]) <= date.fromisoformat(detail["to"])
    shown = [u for u in world.usage.values()
             if u["customer_id"] == cid and detail["from"] <= u["day"] <= detail["to"]]
    assert shown == [], "the data must really have nothing for that view"
    return detail


def periods_in(world: World, cid: str, first: str, last: str) -> list[dict[str, Any]]:
    return [p for p in world.usage_periods.values()
            if p["customer_id"] == cid and first <= p["day"] <= last]


def assert_case_shown(world: World, case: str, sid: str) -> None:
    """The data behind one named example really shows ``case``."""
    now = world.now
    if case in BLOCKERS:
        ws = world.workspaces[sid]
        assert ws["status"] == "pending" and ws["latest_build"] is None
        blockers = {b["code"]: b for b in ws["create_blockers"]}
        assert case in blockers and blockers[case]["message"]
        since = ts(blockers[case]["since"])
        assert since <= now
        cust = world.customers[ws["customer_id"]]
        if case == "billing_approval_missing":
            assert cust["billing"]["approval"] in ("missing", "pending")
            assert ts(cust["billing"]["approval_updated_at"]) <= since
        elif case == "prepaid_balance_missing":
            assert cust["billing"]["prepaid_seconds_left"] == 0
            assert ts(cust["billing"]["prepaid_updated_at"]) <= since
        elif case == "ai_credit_missing":
            assert cust["billing"]["ai_credit_left"] == 0
            assert ts(cust["billing"]["ai_credit_updated_at"]) <= since
        elif case == "target_unavailable":
            target = world.targets[ws["target_id"]]
            assert target["state"] == "unavailable" and target["state_reason"]
            assert ts(target["state_since"]) <= since
            assert target["id"] in cust["allowed_target_ids"]
        elif case == "sso_incomplete":
            assert cust["sso"]["state"] == "incomplete" and cust["sso"]["missing_steps"]
        elif case == "template_alias_unavailable":
            alias = next(a for a in world.templates.values() if a["alias"] == ws["template_alias"])
            assert alias["state"] in ("unavailable", "deprecated") and alias["state_reason"]
            assert ts(alias["state_since"]) <= since
        else:
            prov = world.users[ws["owner_user_id"]]["provisioning"]
            assert prov["state"] == "failed" and prov["reason"]
            assert ts(prov["updated_at"]) <= since
    elif case == "role_not_mapped":
        user = world.users[sid]
        assert (user["idp_role"], user["role"]) == ("customer_admin", "customer_member")
        assert not {"Account setup", "Analytics"} & set(user["visible_navigation"])
        assert now - ts(user["last_sign_in_at"]) < timedelta(days=7)
    elif case == "member_analytics_expected":
        user = world.users[sid]
        assert user["role"] == "customer_member"
        assert any(a["action"] == "analytics.view" and a["result"] == "denied"
                   and a["actor_user_id"] == sid and a["actor_email"] == user["email"]
                   and a["customer_id"] == user["customer_id"] and a["target_type"] == "analytics"
                   for a in world.audit.values())
    elif case == "invite_consumed":
        invite = world.invites[sid]
        assert invite["state"] == "consumed" and ts(invite["consumed_at"]) <= now
    elif case == "invite_expired":
        invite = world.invites[sid]
        assert invite["state"] == "expired" and ts(invite["expires_at"]) < now
    elif case == "launch_url_internal":
        ws = world.workspaces[sid]
        assert ws["status"] == "running"
        assert any(internal_host(app["url"]) for app in ws["apps"])
    elif case == "provisioning_failed":
        ws = world.workspaces[sid]
        build = ws["latest_build"]
        assert ws["status"] == "failed" and build is world.builds[build["id"]]
        assert (build["transition"], build["job_status"]) == ("start", "failed")
        assert build["started_at"] and build["completed_at"] and build["error"]
        logs = world.build_logs[build["id"]]
        assert len(logs) >= 15 and all(x["build_id"] == build["id"] for x in logs)
        assert [x["id"] for x in logs] == sorted({x["id"] for x in logs})
        assert any(x["level"] == "error" and x["stage"] == build["failing_stage"] for x in logs)
    else:
        _assert_analytics_case(world, case, sid)


def _assert_analytics_case(world: World, case: str, cid: str) -> None:
    detail = empty_view(world, cid)
    first, last = detail["from"], detail["to"]
    usage = [u for u in world.usage.values() if u["customer_id"] == cid]
    spans = periods_in(world, cid, first, last)
    workspaces = [w for w in world.workspaces.values() if w["customer_id"] == cid]
    if case == "analytics_empty:scope":
        assert usage == []
        name = world.customers[cid]["name"]
        twins = [c["id"] for c in world.customers.values()
                 if c["id"] != cid and c["name"].startswith(name)]
        assert twins, "a look-alike customer"
        assert any(u["customer_id"] in twins and first <= u["day"] <= last
                   for u in world.usage.values())
    elif case == "analytics_empty:period":
        days = sorted(u["day"] for u in usage)
        assert days and (last < days[0] or first > days[-1])
    elif case == "analytics_empty:reconciliation":
        assert spans and {p["reconciliation"] for p in spans} <= {"pending", "failed"}
        assert any(u["day"] < first or u["day"] > last for u in usage)
        assert any(w["status"] == "running" and w["created_at"][:10] <= first
                   for w in workspaces)
    elif case == "analytics_empty:not_running":
        assert spans and {p["reconciliation"] for p in spans} == {"reconciled"}
        for ws in workspaces:
            assert ws["status"] not in ("running", "starting", "stopping")
            assert ws["last_used_at"] is None or ws["last_used_at"][:10] < first
            assert ws["latest_build"] is None or ws["latest_build"]["completed_at"][:10] < first
    else:
        assert last >= (world.now.date() - timedelta(days=1)).isoformat()
        assert spans and {p["reconciliation"] for p in spans} == {"delayed"}
        for p in spans:
            lag = world.now - ts(p["provider_data_through"])
            assert timedelta(hours=18) <= lag <= timedelta(hours=24)
        assert any(w["status"] == "running" for w in workspaces)


def assert_cases_complete(world: World) -> None:
    """Every object showing a case is named in ``world.cases`` (and nothing else shows one)."""
    cases = world.cases
    named = {c: set(cases[c]) for c in DEMO_CASES}
    pending = {w["id"]: w for w in world.workspaces.values() if w["create_blockers"]}
    for code in BLOCKERS:
        assert named[code] == {i for i, w in pending.items()
                               if code in [b["code"] for b in w["create_blockers"]]}
    assert all(w["status"] == "pending" for w in pending.values())
    assert named["role_not_mapped"] == {
        u["id"] for u in world.users.values() if u["idp_role"] != u["role"]}
    assert named["invite_consumed"] == {
        i["id"] for i in world.invites.values() if i["state"] == "consumed"}
    assert named["invite_expired"] == {
        i["id"] for i in world.invites.values() if i["state"] == "expired"}
    assert named["launch_url_internal"] == {
        w["id"] for w in world.workspaces.values()
        if any(internal_host(a["url"]) for a in w["apps"])}
    assert named["provisioning_failed"] == {
        w["id"] for w in world.workspaces.values() if w["status"] == "failed"}
    assert set(cases["fails_next_build"]) <= named["provisioning_failed"]
    empty = {a["customer_id"] for a in world.audit.values()
             if a["action"] == "analytics.view" and a["result"] == "empty"}
    assert empty == set().union(*(named[c] for c in ANALYTICS))
    blocked_customers = {world.workspaces[i]["customer_id"]
                         for code in CUSTOMER_LEVEL for i in named[code]}
    for cust in world.customers.values():
        b, sso = cust["billing"], cust["sso"]
        unhealthy = (b["approval"] != "approved" or b["prepaid_seconds_left"] == 0
                     or b["ai_credit_left"] == 0 or sso["state"] != "complete")
        assert unhealthy == (cust["id"] in blocked_customers), cust["name"]


def assert_references(world: World) -> None:
    c, u, ws, t = world.customers, world.users, world.workspaces, world.targets
    aliases = {a["alias"] for a in world.templates.values()}
    for user in u.values():
        assert (user["customer_id"] is None) == (user["role"] == "platform_operator")
        assert user["customer_id"] is None or user["customer_id"] in c
    for cust in c.values():
        admins = [x["email"] for x in u.values()
                  if x["customer_id"] == cust["id"] and x["role"] == "customer_admin"]
        assert sorted(cust["admin_emails"]) == sorted(admins) and admins
        assert set(cust["allowed_target_ids"]) <= set(t)
    for w in ws.values():
        owner = u[w["owner_user_id"]]
        assert (owner["customer_id"], owner["email"]) == (w["customer_id"], w["owner_email"])
        assert w["target_id"] in c[w["customer_id"]]["allowed_target_ids"]
        assert w["template_alias"] in aliases
        if w["latest_build"] is not None:
            assert w["latest_build"] is world.builds[w["latest_build"]["id"]]
            assert w["latest_build"]["workspace_id"] == w["id"]
        assert ts(w["created_at"]) >= ts(owner["created_at"])
    for inv in world.invites.values():
        assert inv["customer_id"] in c
        if inv["replaced_by"]:
            new = world.invites[inv["replaced_by"]]
            assert new["email"] == inv["email"] and new["created_at"] >= inv["created_at"]
    for build in world.builds.values():
        assert build["workspace_id"] in ws
    assert set(world.build_logs) <= set(world.builds)
    for a in world.audit.values():
        assert a["actor_user_id"] is None or a["actor_user_id"] in u
        assert a["customer_id"] is None or a["customer_id"] in c
        pool = {"workspace": ws, "user": u, "invite": world.invites, "analytics": c}
        assert a["target_id"] in pool[a["target_type"]]
    for me in world.tokens.values():
        user = u[me["user_id"]]
        assert (me["email"], me["role"], me["customer_id"]) == (
            user["email"], user["role"], user["customer_id"])


def assert_usage_consistent(world: World) -> None:
    today = world.now.date().isoformat()
    midnight = datetime.combine(world.now.date(), datetime.min.time(), UTC)
    pairs = Counter((r["workspace_id"], r["day"]) for r in world.usage.values())
    assert max(pairs.values()) == 1
    for row in world.usage.values():
        ws = world.workspaces[row["workspace_id"]]
        assert (row["customer_id"], row["user_id"]) == (ws["customer_id"], ws["owner_user_id"])
        assert ws["created_at"][:10] <= row["day"] <= ws["last_used_at"][:10] <= today
        assert 60 <= row["workspace_seconds"] <= 86_400
        if row["day"] == today:
            assert row["workspace_seconds"] <= (world.now - midnight).total_seconds()
    days = Counter((p["customer_id"], p["day"]) for p in world.usage_periods.values())
    assert max(days.values()) == 1
    customers_with_periods = {p["customer_id"] for p in world.usage_periods.values()}
    assert customers_with_periods == set(world.customers)


def assert_time_order(world: World) -> None:
    """Nothing happens after ``now``; ids sort in creation order."""
    def walk(obj: Any, key: str = "") -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, k)
        elif isinstance(obj, list):
            for v in obj:
                walk(v, key)
        elif isinstance(obj, str) and key != "expires_at" and (
                key.endswith(("_at", "since", "through")) or key == "time"):
            assert ts(obj) <= world.now, (key, obj)

    for resource in m.LIST_RESOURCES:
        walk(world.collection(resource))
    walk(world.builds)
    walk(world.build_logs)
    for objs, key in ((world.customers, "created_at"), (world.users, "created_at"),
                      (world.invites, "created_at"), (world.workspaces, "created_at"),
                      (world.builds, "created_at"), (world.audit, "time"),
                      (world.usage, "day"), (world.usage_periods, "day")):
        stamps = [objs[i][key] for i in sorted(objs)]
        assert stamps == sorted(stamps), key


def assert_world(world: World, step: int = 1) -> None:
    assert_wire_valid(world, step)
    assert_references(world)
    assert_usage_consistent(world)
    assert_time_order(world)
    assert_cases_complete(world)
    for case in DEMO_CASES:
        assert world.cases[case], case
        for sid in world.cases[case][:5]:
            assert_case_shown(world, case, sid)


# ------------------------------------------------------------------ demo


def test_demo_is_deterministic_for_a_given_now_and_seed(demo: World) -> None:
    assert scenario_demo.build(NOW, seed=7) == demo
    other = scenario_demo.build(NOW, seed=8)
    assert other != demo
    assert sorted(other.cases) == sorted(demo.cases)


def test_demo_world_is_valid_consistent_and_shows_every_case(demo: World) -> None:
    assert_world(demo)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_demo_shows_every_case_whatever_the_seed(seed: int) -> None:
    world = scenario_demo.build(NOW - timedelta(days=seed * 40, hours=seed * 7), seed=seed)
    assert_references(world)
    assert_usage_consistent(world)
    assert_time_order(world)
    assert_cases_complete(world)
    for case in DEMO_CASES:
        for sid in world.cases[case]:
            assert_case_shown(world, case, sid)


def test_demo_sizes(demo: World) -> None:
    assert len(demo.customers) >= 8 and len(demo.users) >= 60
    assert len(demo.workspaces) >= 100 and len(demo.invites) >= 10
    assert 3 <= len(demo.targets) <= 5 and 4 <= len(demo.templates) <= 6
    first = (NOW.date() - timedelta(days=89)).isoformat()
    assert min(p["day"] for p in demo.usage_periods.values()) == first
    usage_days = {r["day"] for r in demo.usage.values()}
    assert min(usage_days) >= first and len(usage_days) >= 60
    assert len(demo.audit) >= 100 and len(demo.build_logs) == len(demo.builds)
    states = Counter(i["state"] for i in demo.invites.values())
    assert set(states) == {"pending", "accepted", "consumed", "expired", "revoked"}


def test_demo_tokens_and_navigation(demo: World) -> None:
    operator, admin, member = (demo.tokens[t] for t in ("demo-operator", "demo-admin",
                                                        "demo-member"))
    assert operator["role"] == "platform_operator" and operator["customer_id"] is None
    assert admin["role"] == "customer_admin" and member["role"] == "customer_member"
    assert admin["customer_id"] == member["customer_id"] == next(
        c["id"] for c in demo.customers.values() if c["name"] == admin["customer_name"])
    nav = {"customer_member": ["Workspaces", "Templates"],
           "customer_admin": ["Workspaces", "Templates", "Account setup", "Members",
                              "Analytics", "Billing"]}
    nav["platform_operator"] = [*nav["customer_admin"], "Customers", "Targets"]
    # what the sign-in checks find: a promoted user still shown the member navigation, an
    # admin shown none of the admin items; a different spelling is still the admin's
    stale = {u for c in ("role_changed_after_sign_in", "navigation_stale")
             for u in demo.cases[c]}
    for user in demo.users.values():
        shown = [n.casefold() for n in user["visible_navigation"]]
        if user["id"] in stale:
            assert "analytics" not in shown
            continue
        assert shown == [n.casefold() for n in nav[user["role"]]]
    promoted = demo.users[demo.cases["role_changed_after_sign_in"][0]]
    assert promoted["role_updated_at"] > promoted["last_sign_in_at"]
    # the admin's customer holds several cases, so a customer admin's console is not empty
    mine = admin["customer_id"]
    held = {case for case, ids in demo.cases.items() for i in ids
            if (demo.workspaces.get(i) or demo.users.get(i) or demo.invites.get(i) or {})
            .get("customer_id") == mine}
    assert len(held) >= 6, held


def test_demo_stories_read_as_the_playbook_tells_them(demo: World) -> None:
    names = {c["name"] for c in demo.customers.values()}
    assert {"Bluefin Labs", "Bluefin Labs (EU)", "Acme Robotics", "Northwind Health"} <= names
    apps = {a["url"] for w in demo.workspaces.values() for a in w["apps"]}
    assert "http://10.12.4.7:8080/?folder=/home/coder&token=s3cr3t-session" in apps
    assert "https://code-server.ws-1.svc.cluster.local/" in apps
    healthy = [u for u in apps if not internal_host(u)]
    assert healthy and all(u.startswith("https://") and ".ws.ism.example.com/" in u
                           for u in healthy)
    # the volume-attach failure: ~40 lines across five stages, errors where it failed
    ws = demo.workspaces[demo.cases["fails_next_build"][0]]
    build = ws["latest_build"]
    logs = demo.build_logs[build["id"]]
    assert build["failing_stage"] == "volume attach" and 35 <= len(logs) <= 45
    assert {x["stage"] for x in logs} == {"init", "plan", "apply", "volume attach", "agent"}
    assert {x["level"] for x in logs} == {"info", "warn", "error"}
    assert logs[-1]["level"] == "error" and logs[-1]["stage"] == "volume attach"
    earlier = [b for b in demo.builds.values()
               if b["workspace_id"] == ws["id"] and b is not build]
    assert earlier and all(b["job_status"] == "succeeded" for b in earlier)
    # create blockers carry the Console's wording, naming what blocks
    for code in BLOCKERS:
        message = demo.workspaces[demo.cases[code][0]]["create_blockers"][0]["message"]
        assert len(message) > 30, message
    # the provider delay is ~20 h, and the empty views' periods fit each story
    saffron = demo.cases["analytics_empty:provider_delay"][0]
    latest = max((p for p in demo.usage_periods.values() if p["customer_id"] == saffron),
                 key=lambda p: p["day"])
    assert NOW - ts(latest["provider_data_through"]) == timedelta(hours=20)


def test_demo_holds_no_bearer_token_or_invite_link(demo: World) -> None:
    text = json.dumps([demo.collection(r) for r in m.LIST_RESOURCES])
    for token in demo.tokens:
        assert token not in text
    for invite in demo.invites.values():
        assert not any("link" in k or "token" in k for k in invite)


def test_build_world_dispatches_and_rejects_unknown_names() -> None:
    assert build_world("demo", now=NOW, seed=7).cases == scenario_demo.build(NOW, 7).cases
    assert len(build_world("scale", now=NOW, scale=500).workspaces) == 500
    with pytest.raises(ValueError, match="choose demo or scale"):
        build_world("nope", now=NOW)


# ------------------------------------------------------------------ scale


def test_scale_small_world_is_valid_and_shows_every_case(small_scale: World) -> None:
    assert_world(small_scale)
    assert scenario_scale.build(NOW, seed=7, workspaces=2000) == small_scale


def test_scale_world_before_the_nightly_reconciliation_is_consistent_too() -> None:
    # at 01:10 yesterday is not reconciled yet and today has barely started
    assert_world(scenario_scale.build(NOW.replace(hour=1, minute=10), seed=3, workspaces=1000))


def test_scale_is_proportional(mid_scale: World) -> None:
    w, n = mid_scale, 20_000
    assert len(w.workspaces) == n and len(w.customers) == n // 200
    assert len(w.users) == n // 5 + 5  # + platform operators
    assert len(w.invites) == n // 20 and len(w.audit) == n // 20
    assert len(w.targets) == 12 and len(w.templates) == 20
    assert len(w.usage_periods) == len(w.customers) * 30
    assert 0.8 * n * 0.1 * 14 <= len(w.usage) <= 1.2 * n * 0.1 * 14
    assert len({r["day"] for r in w.usage.values()}) == 14
    status = Counter(x["status"] for x in w.workspaces.values())
    assert 0.08 <= status["running"] / n <= 0.12
    assert 0.005 <= status["pending"] / n <= 0.02
    assert set(w.build_logs) == {x["latest_build"]["id"] for x in w.workspaces.values()
                                 if x["status"] == "failed"}
    assert all(15 <= len(lines) <= 25 for lines in w.build_logs.values())
    for case in DEMO_CASES:
        assert w.cases[case], case


def test_scale_mid_world_sample_validates_and_cases_hold(mid_scale: World) -> None:
    assert_world(mid_scale, step=37)


def test_scale_rejects_a_size_too_small_to_hold_every_case() -> None:
    with pytest.raises(ValueError, match="at least 100 workspaces, got 10"):
        scenario_scale.build(NOW, workspaces=10)


def test_scenarios_are_pure_data_builders_without_pydantic_or_textual() -> None:
    from fresh_python import imports_none_of

    imports_none_of(["ism_tui.sim.scenario_demo", "ism_tui.sim.scenario_scale"],
                    ("textual", "pydantic", "httpx"))

"""A Console we did not write (``hostile_server``) must never crash the console, leak a secret or
steer an action: ids as path syntax, answers about another object, tokens echoed in error
bodies and log lines, credentialed launch URLs, escapes in /me, unknown enumerations, huge
integers, malformed JSON; and the files the cache and exports leave on disk."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ism_tui.actions.build_logs import fetch_build_logs
from ism_tui.actions.service import ActionService
from ism_tui.api import errors
from ism_tui.api.client import ConsoleClient, RetryPolicy
from ism_tui.known_values import marked
from ism_tui.redact import REMOVED, bare_url, register_secret, scrub
from ism_tui.services import Services, build_services
from ism_tui.sync import run_sync
from storage import build_logs as log_store
from storage.audit import list_audit
from tests.hostile_server import TS, HostileConsole, build, workspace

TOKEN = "tok-7Qx9LmZ2pR4vW8sK1nB5cD3f"
FAST = RetryPolicy(attempts=2, timeout=5, wait_initial=0.01, wait_max=0.02,
                   max_retry_after=0.05)
CUSTOMER = {"id": "cus-1", "updated_at": TS, "name": "Acme Robotics", "admin_emails": []}


def services_on(console: HostileConsole, tmp_path: Path) -> Services:
    services = build_services(url="https://console.example.com", token=console.token,
                              cache_dir=tmp_path / "cache")
    services.transport = console.transport()
    services.retry = FAST
    return services


@pytest.fixture
def console() -> HostileConsole:
    hostile = HostileConsole(TOKEN)
    hostile.objects["customers"] = [CUSTOMER]
    return hostile


@pytest.fixture
def synced(console: HostileConsole, tmp_path: Path) -> Iterator[Services]:
    """Services on ``console``, the cache synced once the test has filled it (call it)."""
    services = services_on(console, tmp_path)
    yield services
    services.close()


def sync(services: Services, full: bool = False) -> Any:
    return asyncio.run(run_sync(services, full=full))


def act(services: Services, action: str, target: str) -> Any:
    service = ActionService(services, retry_wait=0.01)
    plan = service.plan(action, target)
    assert plan.allowed, plan.reason
    return asyncio.run(service.execute(plan, confirmed_by="--yes"))


def row(services: Services, table: str, object_id: str) -> dict[str, Any]:
    from sqlalchemy import text

    with services.engine.connect() as conn:
        found = conn.execute(text(f"SELECT * FROM {table} WHERE id = :i"),
                             {"i": object_id}).mappings().first()
    assert found is not None, object_id
    return dict(found)


# --------------------------------------------------------------------- ids are data

PATH_SYNTAX_IDS = ["a/../b", "x?y", "#", "%2F", "../customers", "b/retry", "sp ace"]


def test_ids_with_path_syntax_reach_only_their_own_workspace(
        console: HostileConsole, synced: Services) -> None:
    console.objects["workspaces"] = [workspace(i) for i in [*PATH_SYNTAX_IDS, "b", "x"]]
    assert sync(synced).ok
    wrong_targets = 0
    for ws_id in PATH_SYNTAX_IDS:
        before = len(console.requests)
        outcome = act(synced, "stop", ws_id)
        assert outcome.ok, outcome.message
        posts = [r for r in console.requests[before:] if r.method == "POST"]
        assert [r.url.raw_path.decode() for r in posts] == [
            f"/api/v2/workspaces/{quote(ws_id, safe='')}/builds"]
        wrong_targets += unquote(posts[0].url.raw_path.decode().split("/")[4]) != ws_id
        assert row(synced, "workspaces", ws_id)["build_id"] == f"b-{ws_id}"
    assert wrong_targets == 0
    # the look-alike targets were never touched
    assert row(synced, "workspaces", "b")["build_id"] is None
    assert row(synced, "workspaces", "x")["build_id"] is None


@pytest.mark.parametrize("bad_id", ["", ".", ".."])
def test_an_id_that_cannot_be_one_path_segment_is_refused_before_any_request(
        console: HostileConsole, bad_id: str) -> None:
    async def attempt() -> None:
        async with ConsoleClient("https://console.example.com", TOKEN,
                                 transport=console.transport()) as client:
            for call in (lambda: client.create_build(bad_id, "stop", idempotency_key="k"),
                         lambda: client.get_build(bad_id), lambda: client.build_logs(bad_id),
                         lambda: client.reissue_invite(bad_id, idempotency_key="k")):
                with pytest.raises(errors.InvalidId, match="one URL path segment"):
                    await call()

    asyncio.run(attempt())
    assert console.requests == []


# --------------------------------------------------------------------- answers about another object

ACTING = workspace("ws-1", latest_build=build("ws-1", "b-1", "start", "running"),
                   status="starting")
INVITE = {"id": "inv-1", "updated_at": TS, "email": "nina@example.com", "customer_id": "cus-1",
          "state": "expired", "role": "customer_member"}


@pytest.mark.parametrize(("action", "target", "path", "answer", "says"), [
    ("delete", "ws-2", "/workspaces/ws-2/builds",
     {"request_id": "r", "build": build("ws-1", "b-9", "delete")},
     "answered for workspace 'ws-1'"),
    ("stop", "ws-2", "/workspaces/ws-2/builds",
     {"request_id": "r", "build": build("ws-2", "b-9", "delete")},
     "answered for transition 'delete'"),
    ("stop", "ws-2", "/workspaces/ws-2/builds",
     {"request_id": "r", "workspace": workspace("ws-1")}, "answered for workspace 'ws-1'"),
    ("stop", "ws-2", "/workspaces/ws-2/builds", {"request_id": "r"}, "cannot be checked"),
    ("cancel", "ws-1", "/workspacebuilds/b-1/cancel",
     {"request_id": "r", "build": build("ws-1", "b-0", "start", "canceling")},
     "answered for build 'b-0'"),
    ("reissue_invite", "inv-1", "/invites/inv-1/reissue",
     {"request_id": "r", "invite": {**INVITE, "id": "inv-2", "email": "eve@evil.example"}},
     "answered for invite to 'eve@evil.example'"),
    ("reissue_invite", "inv-1", "/invites/inv-1/reissue",
     {"request_id": "r", "invite": {**INVITE, "id": "inv-2", "customer_id": "cus-9"}},
     "answered for customer 'cus-9'"),
    ("reissue_invite", "inv-1", "/invites/inv-1/reissue", {"request_id": "r"},
     "holds no invite"),
])
def test_an_answer_about_another_object_is_never_reported_as_done(
        console: HostileConsole, synced: Services, action: str, target: str, path: str,
        answer: dict[str, Any], says: str) -> None:
    console.objects["workspaces"] = [ACTING, workspace("ws-2")]
    console.objects["invites"] = [INVITE]
    console.answers[path] = answer
    assert sync(synced).ok
    before = {w: row(synced, "workspaces", w) for w in ("ws-1", "ws-2")}
    outcome = act(synced, action, target)
    assert outcome.status == "failed" and says in outcome.message
    audit = list_audit(synced.engine, limit=1)[0]
    assert (audit.result, audit.target_id) == ("failed", target) and says in audit.reason
    # nothing the wrong answer said was stored
    assert {w: row(synced, "workspaces", w) for w in ("ws-1", "ws-2")} == before
    assert row(synced, "invites", "inv-1")["state"] == "expired"


def test_log_lines_of_another_build_are_refused_and_not_cached(
        console: HostileConsole, synced: Services) -> None:
    console.objects["workspaces"] = [ACTING]
    console.logs["b-1"] = [{"id": 1, "build_id": "b-7", "created_at": TS, "stage": "s",
                            "output": "someone else's build"}]
    assert sync(synced).ok
    with pytest.raises(errors.WrongObject, match="answered for build 'b-7'"):
        asyncio.run(fetch_build_logs(synced, "b-1"))
    assert log_store.info(synced.engine, "b-1").lines == 0


# --------------------------------------------------------------------- secrets

def _echoing(console: HostileConsole) -> None:
    """Every way the hostile Console hands the token back."""
    console.echo_auth_in_errors = True
    console.raw["/usage"] = (500, json.dumps({"message": f"proxy saw Authorization: Bearer "
                                                         f"{TOKEN}; cookie: sid={TOKEN}"}).encode())
    console.raw["/audit"] = (409, json.dumps({"message": f"debug {TOKEN}"}).encode())
    console.raw["/usage/periods"] = (403, json.dumps(
        {"message": f"https://op:{TOKEN}@console.example.com/x?token={TOKEN}"}).encode())
    launch = f"https://user:{TOKEN}@ide.example.com/ws/1?token={TOKEN}#{TOKEN}"
    blocker = {"code": "billing_approval_missing",
               "message": f"approval pending (Authorization: Bearer {TOKEN})"}
    console.objects["workspaces"] = [
        workspace("ws-1", latest_build=build("ws-1", "b-1", "start", "failed"), status="failed",
                  apps=[{"slug": "ide", "launch_action": "Open in browser", "url": launch}],
                  create_blockers=[blocker])]
    console.logs["b-1"] = [
        {"id": 1, "build_id": "b-1", "created_at": TS, "stage": "clone", "level": "info",
         "output": f"git clone https://ci:{TOKEN}@git.example.com/repo.git?access_token={TOKEN}"},
        {"id": 2, "build_id": "b-1", "created_at": TS, "stage": "auth", "level": "error",
         "output": f"curl -H 'Authorization: Bearer {TOKEN}' -H 'Cookie: s={TOKEN}; t=1'"},
        {"id": 3, "build_id": "b-1", "created_at": TS, "stage": "env", "level": "warn",
         "output": f"ISM_TOKEN is {TOKEN}"}]


def _secrets_in(data: bytes | str) -> int:
    raw = data.encode() if isinstance(data, str) else data
    return sum(raw.count(form.encode()) for form in {TOKEN, quote(TOKEN, safe="")})


def test_tokens_echoed_by_the_console_reach_no_cache_log_export_or_output(
        console: HostileConsole, synced: Services, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ism_tui.cli import main
    from ism_tui.private_files import export_path, write_private
    from ism_tui.triage.export import to_markdown
    from ism_tui.triage.store import list_blockers

    _echoing(console)
    log_file = tmp_path / "ism.log"
    handler = logging.FileHandler(log_file)
    handler.setLevel(logging.DEBUG)
    root = logging.getLogger("ism_tui")
    root.addHandler(handler)
    monkeypatch.setattr(root, "level", logging.DEBUG)
    try:
        report = sync(synced)
        asyncio.run(fetch_build_logs(synced, "b-1"))
        for name in ("ism_tui.api", "ism_tui.sync", "ism_tui"):
            logging.getLogger(name).warning("echoed %s", TOKEN)
        try:
            raise RuntimeError(f"Authorization: Bearer {TOKEN}")
        except RuntimeError:
            logging.getLogger("ism_tui.sync").exception("crashed")
    finally:
        root.removeHandler(handler)
        handler.close()
    assert not report.ok and report.errors  # usage and audit failed, saying why
    export = export_path(tmp_path / "exports", "all", "md")  # as the console writes one
    write_private(export, to_markdown(list_blockers(synced.engine)))
    saved = tmp_path / "exports" / "build-b-1.log"
    log_store.save_to_file(synced.engine, "b-1", saved)

    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ISM_TUI_URL", "https://console.example.com")
    monkeypatch.setenv("ISM_TUI_TOKEN", TOKEN)
    config = tmp_path / "config.toml"
    config.write_text("")
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    assert main(["--config", str(config), "status", "--json"]) == 0
    out = capsys.readouterr()
    synced.close()

    cache = synced.cache.path
    found = {
        "cache": sum(_secrets_in(p.read_bytes()) for p in cache.parent.iterdir()),
        "logs": _secrets_in(log_file.read_bytes()),
        "exports": _secrets_in(export.read_bytes()) + _secrets_in(saved.read_bytes()),
        "output": _secrets_in(out.out + out.err) + _secrets_in(json.dumps(report.to_json())),
    }
    assert found == {"cache": 0, "logs": 0, "exports": 0, "output": 0}
    # what was said still reads: the errors, the log lines, the launch host
    assert "Authorization: [redacted]" in " ".join(report.errors)
    assert "[redacted]" in log_file.read_text() and "Traceback" in log_file.read_text()
    apps = json.loads(row(build_services(url="https://console.example.com", token=TOKEN,
                                         cache_dir=tmp_path / "cache"), "workspaces",
                          "ws-1")["apps"])
    assert apps[0]["url"] == "https://ide.example.com/ws/1"
    assert "git clone https://git.example.com/repo.git" in saved.read_text()


def test_a_toast_carries_no_token(synced: Services) -> None:
    from ism_tui.app import ISMApp

    async def run() -> list[str]:
        app = ISMApp(synced, sync_on_start=False)
        async with app.run_test(size=(100, 30)) as pilot:
            app.notify(f"Sync failed: token={TOKEN} [b]x[/b]")
            await pilot.pause()
            return [str(n.message) for n in app._notifications]

    messages = asyncio.run(run())
    assert messages and not any(TOKEN in m for m in messages)
    assert any("[b]x[/b]" in m for m in messages)  # changed text is shown literally


def test_escapes_in_the_me_name_never_reach_the_status_output(
        console: HostileConsole, synced: Services, tmp_path: Path,
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from ism_tui.cli import main

    console.me["name"] = "Eve\x1b]0;owned\x07\x1b[2J\x07 Admin"
    assert sync(synced).ok
    synced.close()
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
    config = tmp_path / "config.toml"
    config.write_text("")
    capsys.readouterr()
    assert main(["--config", str(config), "status"]) == 0
    out = capsys.readouterr().out
    assert "Eve Admin" in out
    assert not any(c in out for c in "\x1b\x07\x9b")


# --------------------------------------------------------------------- forward-compatible decoding

def test_unknown_enumeration_values_land_and_show_marked(
        console: HostileConsole, synced: Services) -> None:
    from ism_tui.triage.store import blockers_for

    console.objects["workspaces"] = [
        workspace("ws-new", status="hibernating",
                  latest_build=build("ws-new", "b-n", "snapshot", "queued"),
                  create_blockers=[{"code": "quota_exceeded", "message": "new blocker"}]),
        workspace("ws-ok")]
    console.objects["invites"] = [{**INVITE, "state": "superseded", "role": "customer_guest"}]
    console.objects["users"] = [{"id": "u-1", "updated_at": TS, "customer_id": "cus-1",
                                 "role": "customer_auditor", "provisioning": {"state": "syncing"}}]
    console.objects["targets"] = [{"id": "t-1", "updated_at": TS, "state": "draining"}]
    console.objects["templates"] = [{"id": "tp-1", "updated_at": TS, "state": "retired"}]
    console.objects["usage_periods"] = [{"id": "p-1", "updated_at": TS, "day": "2026-11-23",
                                         "customer_id": "cus-1", "reconciliation": "partial"}]
    console.objects["usage"] = [{"id": "us-1", "updated_at": TS, "day": "2026-11-23",
                                 "customer_id": "cus-1", "workspace_id": "ws-new",
                                 "user_id": "u-1", "workspace_seconds": 60}]
    console.objects["audit"] = [{"id": "a-1", "updated_at": TS, "time": TS,
                                 "action": "workspace.hibernate", "result": "deferred"}]
    report = sync(synced)
    assert report.ok, report.errors
    stored = row(synced, "workspaces", "ws-new")
    assert (stored["status"], stored["build_job_status"]) == ("hibernating", "queued")
    assert row(synced, "invites", "inv-1")["state"] == "superseded"
    assert [marked(stored["status"]), marked("running")] == ["hibernating?", "running"]
    # unknown is not a blocker by itself, and allows no action
    assert blockers_for(synced.engine, "workspace", "ws-new") == []
    service = ActionService(synced)
    assert not service.plan("stop", "ws-new").allowed
    assert not service.plan("reissue_invite", "inv-1").allowed


def test_an_unknown_role_of_the_token_lands_and_may_do_nothing(
        console: HostileConsole, synced: Services) -> None:
    console.me["role"] = "platform_auditor"
    console.objects["workspaces"] = [workspace("ws-1")]
    assert sync(synced).ok
    plan = ActionService(synced).plan("stop", "ws-1")
    assert not plan.allowed and "unknown role 'platform_auditor'" in plan.reason


def test_an_integer_beyond_64_bits_leaves_out_one_object_and_names_it(
        console: HostileConsole, synced: Services) -> None:
    console.objects["workspaces"] = [
        workspace("ws-1"), {**workspace("ws-huge"), "latest_build": {
            **build("ws-huge", "b-h"), "build_number": 2**70}}, workspace("ws-3")]
    console.objects["customers"] = [
        CUSTOMER, {"id": "cus-huge", "updated_at": TS, "billing": {
            "approval": "approved", "prepaid_seconds_left": -(10**30), "ai_credit_left": 1}}]
    report = sync(synced)
    assert report.ok, report.errors
    by = {r.resource: r for r in report.resources}
    assert by["workspaces"].rows == 2 and by["customers"].rows == 1
    assert by["workspaces"].rejected == [
        f"workspaces: object 'ws-huge': field 'latest_build.build_number' = {2**70} is out "
        "of range (the cache holds 64-bit integers)"]
    assert "object 'cus-huge': field 'billing.prepaid_seconds_left'" in \
        by["customers"].rejected[0]
    row(synced, "workspaces", "ws-3")


def test_a_single_object_with_a_huge_integer_is_a_named_contract_violation(
        console: HostileConsole) -> None:
    console.objects["workspaces"] = [{**workspace("ws-h"), "latest_build": {
        **build("ws-h", "b"), "build_number": 2**64}}]

    async def get() -> None:
        async with ConsoleClient("https://console.example.com", TOKEN,
                                 transport=console.transport()) as client:
            await client.get("workspaces", "ws-h")

    with pytest.raises(errors.ContractViolation,
                       match="/workspaces/ws-h: field 'latest_build.build_number'"):
        asyncio.run(get())


@pytest.mark.parametrize(("body", "says"), [
    (b'{"items": [{"id": "ws-1", "updated_at": "2026-11-24T09:00:00Z"}', "malformed JSON"),
    (b"<html>gateway</html>", "malformed JSON"),
    (json.dumps({"items": [{"id": "ws-a", "updated_at": TS},
                           {"id": "ws-b", "updated_at": TS, "name": ["list"]}],
                 "next_after_id": None}).encode(),
     "object 'ws-b' (items[1]): field 'items.1.name'"),
    (json.dumps({"items": [{"id": "ws-a", "updated_at": "yesterday"}]}).encode(),
     "object 'ws-a' (items[0])"),
])
def test_a_refused_page_names_the_object_and_keeps_the_cache(
        console: HostileConsole, synced: Services, body: bytes, says: str) -> None:
    console.objects["workspaces"] = [workspace("ws-1")]
    assert sync(synced).ok
    console.raw["/workspaces"] = (200, body)
    report = sync(synced, full=True)
    assert not report.ok and any(says in e for e in report.errors), report.errors
    row(synced, "workspaces", "ws-1")


# --------------------------------------------------------------------- address and advice

@pytest.mark.parametrize("pasted", ["https://console.example.com", "https://console.example.com/",
                                    " https://console.example.com/api/v2/ "])
def test_the_console_address_works_as_users_paste_it(console: HostileConsole,
                                                     pasted: str) -> None:
    from ism_tui.config import load_settings

    assert load_settings(url=pasted.strip(), token=TOKEN).url == \
        "https://console.example.com/api/v2"

    async def me() -> str:
        async with ConsoleClient(pasted, TOKEN, transport=console.transport()) as client:
            return (await client.me()).name

    assert asyncio.run(me()) == "Sam Operator"
    assert console.raw_paths == ["/api/v2/me"]


def test_a_404_on_me_says_the_url_looks_wrong(console: HostileConsole) -> None:
    console.raw["/me"] = (404, b'{"message": "Not Found"}')

    async def me() -> None:
        async with ConsoleClient("https://console.example.com/v1", TOKEN,
                                 transport=console.transport()) as client:
            await client.me()

    with pytest.raises(errors.NotFound) as err:
        asyncio.run(me())
    said = str(err.value)
    assert "https://console.example.com/v1/me" in said and "looks wrong" in said
    assert "https://console.example.com" in said and "deleted" not in said


def test_a_401_during_a_full_sync_says_how_to_set_a_token(console: HostileConsole,
                                                          tmp_path: Path) -> None:
    services = services_on(console, tmp_path)
    console.token = "the-token-the-console-wants"
    report = asyncio.run(run_sync(services, full=True))
    services.close()
    said = " ".join(report.errors)
    assert "token was rejected (401)" in said and "ISM_TUI_TOKEN" in said


def test_a_token_revoked_during_a_full_sync_on_a_server_gives_token_advice_only(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from ism_tui.sim.testing import running_simulator
    from tests.conftest import FROZEN_NOW

    with running_simulator(now=FROZEN_NOW) as sim:
        services = build_services(url=sim.root_url, token="demo-operator", cache_dir=tmp_path)
        services.retry = FAST
        services.settings.settings.page_size = 30
        pages = 0

        def revoke(p: Any) -> None:
            nonlocal pages
            pages += p.resource == "workspaces" and p.phase == "page"
            if pages == 2:
                sim.revoke_token("demo-operator")

        report = asyncio.run(run_sync(services, full=True, progress=revoke))
        services.close()
    said = " ".join(report.errors + [r.getMessage() for r in caplog.records])
    assert not report.ok and "token was rejected (401)" in said, said
    assert "demo-operator" not in said


# --------------------------------------------------------------------- private files

@pytest.fixture
def open_umask() -> Iterator[None]:
    before = os.umask(0)
    try:
        yield
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_cache_exports_and_saved_logs_are_private_under_umask_000(
        console: HostileConsole, tmp_path: Path, open_umask: None,
        capsys: pytest.CaptureFixture[str]) -> None:
    from ism_tui.private_files import export_path, write_private
    from ism_tui.triage.export import to_markdown

    console.objects["workspaces"] = [ACTING]
    console.logs["b-1"] = [{"id": 1, "build_id": "b-1", "created_at": TS, "stage": "s",
                            "output": "ok"}]
    services = services_on(console, tmp_path / "new")  # cache dir and its parent made here
    assert sync(services).ok
    asyncio.run(fetch_build_logs(services, "b-1"))
    exports = tmp_path / "exports" / "nested"
    export = export_path(exports, "none", "md")
    write_private(export, to_markdown([]))
    saved = exports / "b-1.log"
    saved.write_text("old")
    os.chmod(saved, 0o644)
    log_store.save_to_file(services.engine, "b-1", saved)
    cache = services.cache.path
    modes = {p.name: _mode(p) for p in cache.parent.iterdir()}
    services.close()
    assert set(modes) >= {cache.name, cache.name + "-wal", cache.name + "-shm"}
    assert set(modes.values()) == {0o600}, modes
    assert _mode(cache.parent) == _mode(cache.parent.parent) == 0o700
    assert _mode(export) == _mode(saved) == 0o600
    assert _mode(exports) == _mode(exports.parent) == 0o700


def test_a_cli_export_over_a_readable_file_is_made_private(
        console: HostileConsole, synced: Services, tmp_path: Path, open_umask: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ism_tui.cli import main

    console.objects["workspaces"] = [workspace("ws-1", status="pending", create_blockers=[
        {"code": "billing_approval_missing", "message": "approval pending"}])]
    assert sync(synced).ok
    synced.close()
    monkeypatch.setenv("ISM_TUI_CACHE_DIR", str(tmp_path / "cache"))
    config = tmp_path / "config.toml"
    config.write_text("")
    out = tmp_path / "escalation.md"
    out.write_text("")
    os.chmod(out, 0o644)
    assert main(["--config", str(config), "escalate", "--customer", "cus-1", "-o",
                 str(out)]) == 0
    assert "billing_approval_missing" in out.read_text() and _mode(out) == 0o600


def test_an_existing_world_readable_cache_is_tightened(tmp_path: Path, open_umask: None) -> None:
    from storage.db import Cache

    directory = tmp_path / "shared"
    directory.mkdir(mode=0o755)
    path = directory / "default.sqlite3"
    Cache(path).dispose()
    os.chmod(directory, 0o755)
    os.chmod(path, 0o644)
    Cache(path).dispose()
    assert (_mode(directory), _mode(path)) == (0o700, 0o600)


def test_another_users_readable_cache_directory_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from storage.db import Cache, CacheError

    directory = tmp_path / "theirs"
    directory.mkdir()
    os.chmod(directory, 0o755)
    monkeypatch.setattr(os, "getuid", lambda: os.stat(directory).st_uid + 1)
    with pytest.raises(CacheError, match="belongs to another user.*cache_dir"):
        Cache(directory / "default.sqlite3")


# --------------------------------------------------------------------- the redactor, by property

SECRET = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~",
                 min_size=8, max_size=48).filter(
    lambda s: s.strip(".-_~") == s and s.lower() not in REMOVED)
CARRIERS = [
    "Authorization: Bearer {s}", "authorization={s}", "Proxy-Authorization: Basic {s}",
    "Cookie: a=1; session={s}; b=2", "Set-Cookie: sid={s}; Path=/; HttpOnly",
    "see https://user:{s}@host.example/p", "https://host.example/p?token={s}&x=1",
    "https://host.example/p?x=1#{s}", "proxy ci:{s}@proxy.corp:3128 refused",
    '{{"access_token": "{s}"}}', "password={s}", "bearer {s} was refused",
    "git clone ssh://git:{s}@git.example.com/repo",
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(secret=SECRET, carrier=st.sampled_from(CARRIERS), before=st.text(max_size=30),
       after=st.text(max_size=30))
def test_no_carrier_of_a_secret_survives_scrub(secret: str, carrier: str, before: str,
                                               after: str) -> None:
    assume(secret not in before + after)
    text = before + " " + carrier.format(s=secret) + "\n" + after
    assert secret not in scrub(text)


@settings(max_examples=100, deadline=None)
@given(secret=SECRET.filter(lambda s: len(s) >= 12), before=st.text(max_size=40),
       after=st.text(max_size=40))
def test_a_registered_secret_is_removed_from_every_way_out(secret: str, before: str,
                                                           after: str) -> None:
    assume(secret not in before + after)
    from ism_tui import redact

    registered = redact._registered
    try:
        register_secret(secret)
        _removed_everywhere(secret, before, after)
    finally:
        redact._registered = registered  # other tests' text must not lose a generated value


def _removed_everywhere(secret: str, before: str, after: str) -> None:
    from storage.rows import build_log_row, workspace_row

    plain = f"{before}{secret}{after}"
    assert secret not in scrub(plain)
    assert secret not in str(errors.Unavailable(plain))
    assert secret not in errors.server_reason(plain)
    line = build_log_row({"build_id": "b", "id": 1, "created_at": TS, "stage": "s",
                          "level": "info", "output": plain})
    assert secret not in line["output"]
    record = logging.LogRecord("ism_tui.api", logging.WARNING, __file__, 1, "said %s",
                               (plain,), None)
    logging.getLogger("ism_tui.api").filters[0].filter(record)
    assert secret not in record.getMessage()
    from ism_tui.api.models import Workspace

    ws = Workspace.model_validate({**workspace("w"), "apps": [{
        "slug": "a", "launch_action": "Open",
        "url": f"https://u:{quote(secret)}@h.example/p?t={quote(secret)}"}]})
    assert secret not in workspace_row(ws)[-2]


@given(url=st.from_regex(r"https://([a-z]{1,8}:[A-Za-z0-9]{8,20}@)?[a-z]{1,10}\.example(:[0-9]{2,4})?"
                         r"(/[a-z0-9]{0,8}){0,3}(\?[a-z]=[A-Za-z0-9]{0,12})?(#[A-Za-z0-9]{0,8})?",
                         fullmatch=True))
def test_a_cached_launch_url_is_scheme_host_and_path(url: str) -> None:
    parts = httpx.URL(url)
    kept = httpx.URL(bare_url(url))
    assert (kept.scheme, kept.host, kept.port, kept.path) == (
        parts.scheme, parts.host, parts.port, parts.path)
    assert (kept.userinfo, kept.query, kept.fragment) == (b"", b"", "")


def test_known_values_match_the_contracts_enumerations() -> None:
    import typing

    from ism_tui.api import models as m
    from ism_tui.known_values import KNOWN

    enums = [m.Role, m.BillingApproval, m.SsoState, m.ProvisioningState, m.InviteState,
             m.TargetState, m.AliasState, m.Transition, m.JobStatus, m.WorkspaceStatus,
             m.CreateBlockerCode, m.Reconciliation, m.LogLevel, m.AuditResult]
    assert KNOWN == {v for e in enums for v in typing.get_args(e)}


def test_the_committed_contract_is_the_generated_one() -> None:
    from ism_tui.sim.openapi_gen import OPENAPI_PATH, render_openapi

    assert OPENAPI_PATH.read_text() == render_openapi()


def test_an_action_answered_with_a_huge_integer_fails_named_and_nothing_crashes(
        console: HostileConsole, synced: Services) -> None:
    console.objects["workspaces"] = [workspace("ws-1")]
    console.answers["/workspaces/ws-1/builds"] = {"request_id": "r", "build": {
        **build("ws-1", "b-1"), "build_number": 2**70}}
    assert sync(synced).ok
    outcome = act(synced, "stop", "ws-1")
    assert outcome.status == "failed"
    assert "/workspaces/ws-1/builds: field 'build.build_number'" in outcome.message
    assert list_audit(synced.engine, limit=1)[0].result == "failed"
    assert row(synced, "workspaces", "ws-1")["build_id"] is None


def test_an_action_answer_the_cache_cannot_hold_is_still_reported_done(
        console: HostileConsole, synced: Services) -> None:
    console.objects["workspaces"] = [workspace("ws-1")]
    console.answers["/workspaces/ws-1/builds"] = {"request_id": "r", "build": {
        **build("ws-1", "b-1"), "build_number": 2**63}}  # JSON and the model take it: SQLite not
    assert sync(synced).ok
    outcome = act(synced, "stop", "ws-1")
    assert outcome.ok and not outcome.resynced, outcome.message
    assert list_audit(synced.engine, limit=1)[0].result == "succeeded"


def test_a_crash_report_shows_no_token_and_no_local_variables(synced: Services) -> None:
    from ism_tui.app import ISMApp

    app = ISMApp(synced, sync_on_start=False)
    secret_local = TOKEN  # what Textual's own crash report would print among the locals
    try:
        raise RuntimeError(f"boom with Authorization: Bearer {secret_local}")
    except RuntimeError:
        app._fatal_error()
    shown = "".join(str(r) for r in app._exit_renderables)
    assert "RuntimeError: boom with Authorization: [redacted]" in shown
    assert TOKEN not in shown and "secret_local =" not in shown


def test_a_cache_of_an_older_version_is_rebuilt_without_what_it_held(tmp_path: Path) -> None:
    import sqlite3

    from storage.db import make_engine
    from storage.version import SCHEMA_VERSION

    path = tmp_path / "old.sqlite3"
    make_engine(path).dispose()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'",
               (str(SCHEMA_VERSION - 1),))
    db.execute("INSERT INTO build_logs (build_id, id, created_at, stage, level, output) "
               "VALUES ('b', 1, ?, 's', 'info', ?)", (TS, f"old line with {TOKEN}"))
    db.commit()
    db.close()
    assert TOKEN.encode() in path.read_bytes()
    make_engine(path).dispose()
    assert not any(TOKEN.encode() in p.read_bytes() for p in tmp_path.iterdir())


def test_the_console_says_which_object_a_sync_left_out(console: HostileConsole,
                                                       synced: Services) -> None:
    from ism_tui.app import ISMApp

    console.objects["workspaces"] = [workspace("ws-1"), {**workspace("ws-huge"), "latest_build": {
        **build("ws-huge", "b-h"), "build_number": 2**70}}]

    async def run() -> list[str]:
        # the console's sync runs in a child process, which this in-memory Console cannot
        # serve: the same sync here, its report shown as the console shows the child's
        report = await run_sync(synced)
        app = ISMApp(synced, sync_on_start=False)
        async with app.run_test(size=(100, 30)) as pilot:
            app.show_sync_report(report.to_json())
            await pilot.pause()
            return [str(n.message) for n in app._notifications]

    messages = asyncio.run(run())
    assert any("Left out of the cache: workspaces: object 'ws-huge': field "
               "'latest_build.build_number'" in m for m in messages), messages

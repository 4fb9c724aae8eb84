"""A Console that sends hostile (yet contract-valid) text: every screen renders it literally.

Names, emails, ids, build errors, log lines and server messages carry Rich/Textual markup
(``[/]`` is a MarkupError, ``[@click=app.quit]`` a live action), escape sequences, 10,000
characters and wide text. Each test walks screens an operator opens and checks that the app is
still running, that the markup shows as typed (not consumed) and that no escape byte reaches the
screen.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from tui_support import make_app, make_services, screen, settled, until_shown

CLICK = "[@click=app.quit]"
ESCAPES = "\x1b]0;owned\x07\x1b[2J\x1b]52;c;aGFjaw==\x07\x07\x9b31m"
SECRET = "s3cr3t-t0ken-value-42"

WS_ID = "ws-000088[/]"  # ids are contract strings too
WS_NAME = f"img[/]pipe {CLICK}Q[/] [b]B[/b]{ESCAPES}"
CUSTOMER = f"North[/]wind [b]x[/b] [red]Health{ESCAPES} 工作区🚀👩\u200d💻"
USER_NAME = f"{CLICK}Yara[/] " + "名" * 10_000
USER_EMAIL = "[/]yara.ahmed@northwindhealth.example"
INVITE_EMAIL = f"{CLICK}nina[/]@northwindhealth.example"
BUILD_ERROR = f"[/] Multi-Attach {CLICK}error{ESCAPES} Authorization: Bearer {SECRET}"
LOG_LINE = f"[/] boom {CLICK}here [red]{ESCAPES}"


def _rename(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _rename(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, old, new) for v in value]
    return new if value == old else value


@pytest.fixture
def hostile_world(demo_world: Any) -> Any:
    """The demo scenario with imaging-pipeline (failed build, logs), its owner, its customer
    and one invite made hostile."""
    w = demo_world
    ws = next(x for x in w.workspaces.values() if x["name"] == "imaging-pipeline")
    old_id, build_id = ws["id"], ws["latest_build"]["id"]
    for resource in ("workspaces", "builds", "usage"):
        collection = w.collection(resource)
        for key, obj in list(collection.items()):
            collection[key] = _rename(obj, old_id, WS_ID)
    w.workspaces[WS_ID] = w.workspaces.pop(old_id)
    ws = w.workspaces[WS_ID]
    ws["name"] = WS_NAME
    ws["latest_build"]["error"] = BUILD_ERROR
    w.builds[build_id] = ws["latest_build"]
    w.build_logs[build_id][-1]["output"] = LOG_LINE
    w.build_logs[build_id][-2]["output"] = f"curl -H 'Authorization: Bearer {SECRET}'"
    w.customers[ws["customer_id"]]["name"] = CUSTOMER
    owner = w.users[ws["owner_user_id"]]
    owner["name"], owner["email"] = USER_NAME, USER_EMAIL
    ws["owner_email"] = USER_EMAIL
    invite = next(i for i in w.invites.values() if i["email"].startswith("nina.haddad"))
    invite["email"] = INVITE_EMAIL
    me = w.tokens["demo-operator"]
    me["name"], me["email"] = f"Sam{ESCAPES}[/]", f"sam{CLICK}[/]@ism.example.com"
    return w


def shows(app: Any, *literals: str) -> str:
    """The screen text, after checking the app survived and rendered ``literals`` as typed."""
    assert app.is_running and app.return_code is None, app._exception
    text = screen(app)
    assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
    assert SECRET not in text
    for literal in literals:
        assert literal in text, f"{literal!r} not on screen:\n{text}"
    return text


async def test_every_tab_and_detail_shows_hostile_text_literally(tmp_path, hostile_world):
    app = make_app(make_services(tmp_path, hostile_world))
    async with app.run_test(size=(200, 80)) as pilot:  # wide and tall: the whole detail beside
        await settled(pilot, app)
        shows(app, "sam[@click=app.quit][/]@ism")  # header: who the token is
        await pilot.press("slash", *"img", "enter", "down", "up")  # Triage
        await settled(pilot, app)
        shows(app, "img[/]pipe", "[@click=app.quit]Q[/]", "[b]B[/b]", "North[/]wind",
              "[@click=app.quit]error", "[@click=app.quit]here")
        await pilot.press("2", "slash", *"North", "enter", "down", "up")
        await settled(pilot, app)
        shows(app, "North[/]wind [b]x[/b] [red]Health", "工作区🚀👩\u200d💻")
        await pilot.press("u", "slash", *"yara", "enter", "down", "up")
        await settled(pilot, app)
        shows(app, "[@click=app.quit]Yara[/] 名名", "[/]yara.ahmed@")
        await pilot.press("3", "slash", *"nina", "enter", "down", "up")
        await settled(pilot, app)
        shows(app, "[@click=app.quit]nina[/]@northwindhealth")
        await pilot.press("4", "slash", *"img", "enter", "down", "up")
        await settled(pilot, app)
        shows(app, "img[/]pipe", "[@click=app.quit]Q[/]", "[b]B[/b]", "ws-000088[/]",
              "[@click=app.quit]error")
        await pilot.press("5", "c", *"North", "enter")
        await settled(pilot, app)
        shows(app, "scope: North[/]wind [b]x[/b]")


async def test_narrow_detail_screen_and_help(tmp_path, hostile_world):
    from screens.detail_screen import DetailScreen
    from screens.help import HelpScreen

    app = make_app(make_services(tmp_path, hostile_world))
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app)
        await pilot.press("4", "slash", *"img", "enter", "enter")
        await settled(pilot, app)
        assert isinstance(app.screen, DetailScreen)
        shows(app, "img[/]pipe [@click=app.quit]Q[/]")
        await pilot.press("escape", "question_mark")
        await settled(pilot, app)
        assert isinstance(app.screen, HelpScreen)
        shows(app, "ctrl+p")


async def test_palette_hits_for_hostile_names(tmp_path, hostile_world):
    app = make_app(make_services(tmp_path, hostile_world))
    async with app.run_test(size=(120, 40)) as pilot:
        await settled(pilot, app)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"img")
        await until_shown(pilot, app, "workspace: img[/]pipe [@click=app.quit]Q[/]")
        shows(app, "workspace: img[/]pipe [@click=app.quit]Q[/]", "ws-000088[/] [/]yara")
        await pilot.press("backspace", "backspace", "backspace", *"yara")
        await until_shown(pilot, app, "user: [/]yara.ahmed@")
        shows(app, "user: [/]yara.ahmed@", "[@click=app.quit]Yara[/]")


async def test_actions_menu_confirm_toast_and_audit(tmp_path, hostile_world):
    from screens.actions import ActionMenu, ConfirmAction
    from screens.audit import AuditScreen

    app = make_app(make_services(tmp_path, hostile_world))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settled(pilot, app)
        await pilot.press("4", "slash", *"img", "enter", "a")
        await settled(pilot, app)
        assert isinstance(app.screen, ActionMenu)
        shows(app, "Actions on workspace ws-000088[/]")
        await pilot.press("end", "enter")  # delete: confirm by typing the name
        await settled(pilot, app)
        assert isinstance(app.screen, ConfirmAction)
        shows(app, "img[/]pipe [@click=app.quit]Q[/]", "North[/]wind [b]x[/b]")
        await pilot.press(*"wrong", "enter")  # refused, and the toast says so
        await settled(pilot, app)
        shows(app, "That does not match: type it as the dialog shows it.")
        await pilot.press("escape")  # cancelled: the audit trail records it, by name
        await settled(pilot, app)
        await pilot.press("A")
        await settled(pilot, app)
        assert isinstance(app.screen, AuditScreen)
        shows(app, "sam[@click=app.quit]", "workspace img[/]pipe [@click")


async def test_build_log_viewer_title_lines_and_search(tmp_path, hostile_world):
    from textual.widgets import Input

    from screens.build_logs import BuildLogScreen

    app = make_app(make_services(tmp_path, hostile_world))
    async with app.run_test(size=(160, 48)) as pilot:
        await settled(pilot, app)
        await pilot.press("4", "slash", *"img", "enter", "l")
        await settled(pilot, app)
        assert isinstance(app.screen, BuildLogScreen)
        await pilot.press("end")
        await pilot.pause()
        shows(app, "Build logs: img[/]pipe [@click=app.quit]Q[/]",
              "[/] boom [@click=app.quit]here [red]", "curl -H 'Authorization:")
        app.screen.query_one("#log-search", Input).value = "[/]"
        await settled(pilot, app)
        text = shows(app, "[/] boom [@click=app.quit]here")
        assert "matching" not in text or "'[/]'" in text


class _HostileErrors(BaseHTTPRequestHandler):
    """A Console that refuses everything with a hostile message."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = json.dumps({"message": f"[/] denied {CLICK}Q[/] [b]x{ESCAPES}",
                           "detail": "", "validations": []}).encode()
        self.send_response(403)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hostile_console() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HostileErrors)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api/v2"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


async def test_sync_failure_toast_carries_the_server_message_literally(
        tmp_path, hostile_world, hostile_console):
    app = make_app(make_services(tmp_path, hostile_world, url=hostile_console))
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.press("r")
        await settled(pilot, app)
        assert any("Sync failed" in str(n.message) for n in app._notifications)
        shows(app, "[/] denied [@click=app.quit]Q[/] [b]x")

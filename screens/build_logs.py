"""Build log viewer: windowed lines from the cache, follow mode while the build runs, the
failing stage and error lines marked (glyph + colour), search as a filter, save to a file."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Input, Static

from ism_tui.api.job_status import ACTIVE_JOB_STATUSES
from ism_tui.private_files import export_path
from screens.literal import literal, plain, toast
from screens.window_table import Column, WindowTable
from storage import build_logs as logs
from storage.dbapi import RowDict


class LogSource:
    def __init__(self, engine: Any, build_id: str) -> None:
        self.engine = engine
        self.build_id = build_id

    def count(self, filter_text: str, at_most: int | None = None) -> int:  # never capped
        return logs.count_matches(self.engine, self.build_id, filter_text)

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[RowDict]:
        lines = logs.match_window(self.engine, self.build_id, filter_text, offset, limit)
        return [{"id": x.id, "time": x.created_at[11:19], "stage": x.stage,
                 "level": x.level, "output": x.output, "marked": x.marked,
                 "error": x.level == "error"} for x in lines]


def _mark(row: RowDict) -> tuple[str, str]:
    if row.get("error"):
        return "✖ ERR", "bold red"
    if row.get("marked"):
        return "▲ FAIL", "yellow"
    return "", ""


def _output(row: RowDict) -> tuple[str, str]:
    return str(row.get("output") or ""), "red" if row.get("error") else ""


LOG_COLUMNS = [
    Column("mark", "", 6, render=_mark),
    Column("time", "Time", 8),
    Column("stage", "Stage", 14),
    Column("output", "Output", 30, render=_output),
]


class BuildLogScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
        Binding("slash", "search", "Search"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("n", "first_error", "First error"),
        Binding("w", "save", "Save to file"),
    ]

    def __init__(self, engine: Any, build_id: str, title: str, running: bool) -> None:
        super().__init__(classes="log-screen")
        self.engine = engine
        self.build_id = build_id
        self.title_text = title
        self.follow = running

    def compose(self) -> ComposeResult:
        with Vertical(id="log-box") as box:
            box.border_title = literal(self.title_text, 70)
            yield Static("", id="log-info", markup=False)
            yield Input(placeholder="search the log (enter keeps it, esc clears)", id="log-search")
            yield WindowTable(LogSource(self.engine, self.build_id), LOG_COLUMNS)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(WindowTable).focus()
        self._show_info()
        if not self.follow:  # a finished build: start at its first error
            self.call_after_refresh(self._to_first_error)
        self.refresh_logs()
        self.set_interval(1.5, self._tick)

    def _to_first_error(self) -> None:
        i = logs.info(self.engine, self.build_id)
        if i.first_error_id is not None:
            self.query_one(WindowTable).cursor = logs.position_of(
                self.engine, self.build_id, i.first_error_id)

    def _show_info(self, note: str = "") -> None:
        i = logs.info(self.engine, self.build_id)
        out = Text()
        out.append(f"{i.lines:,} lines", "bold")
        out.append(f" · {i.error_lines} error line(s)", "bold red" if i.error_lines else "dim")
        if i.failing_stage:
            out.append(" · failing stage: ", "dim")
            out.append(plain(i.failing_stage, 30), "bold yellow")
        out.append(" · follow ON" if self.follow else " · follow off", "dim")
        if note:
            out.append(f" · {plain(note)}", "italic")
        self.query_one("#log-info", Static).update(out)

    @work(exclusive=True, group="logs", exit_on_error=False)
    async def refresh_logs(self) -> None:
        from ism_tui.actions.build_logs import fetch_build_logs, fetch_build_status

        services = self.app.services  # type: ignore[attr-defined]
        ended: str | None = None
        try:
            added = await fetch_build_logs(services, self.build_id)
            if self.follow:
                status = await fetch_build_status(services, self.build_id)
                if status not in ACTIVE_JOB_STATUSES:
                    ended = status
                    added += await fetch_build_logs(services, self.build_id)  # its last lines
        except Exception as exc:  # offline: the cached lines still show
            self._show_info(f"showing cached lines ({plain(exc, 80)})")
            self.query_one(WindowTable).reload()
            return
        table = self.query_one(WindowTable)
        table.reload()
        if added and self.follow:
            table.action_jump(-1)
        if ended is not None:  # nothing more will come: stop polling, show how it ended
            self.follow = False
            if ended == "failed":
                self._to_first_error()
            self._show_info(f"the build ended: {ended}")
            return
        self._show_info(f"+{added} new" if added else "")

    def _tick(self) -> None:
        if self.follow:
            self.refresh_logs()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        self._show_info()
        if self.follow:
            self.refresh_logs()

    def action_first_error(self) -> None:
        i = logs.info(self.engine, self.build_id)
        if i.first_error_id is None:
            toast(self, "No error line in this log.")
            return
        table = self.query_one(WindowTable)
        table.set_filter("")
        self.query_one("#log-search", Input).value = ""
        table.cursor = logs.position_of(self.engine, self.build_id, i.first_error_id)

    def action_search(self) -> None:
        self.add_class("searching")
        self.query_one("#log-search", Input).focus()

    @on(Input.Changed, "#log-search")
    def _changed(self, event: Input.Changed) -> None:
        self.query_one(WindowTable).set_filter(event.value)

    @on(Input.Submitted, "#log-search")
    def _submitted(self) -> None:
        self.query_one(WindowTable).focus()

    def action_save(self) -> None:
        directory = self.app.services.settings.export_dir  # type: ignore[attr-defined]
        try:
            path = export_path(directory, f"build-{self.build_id}", "log")
            n = logs.save_to_file(self.engine, self.build_id, path)
        except OSError as exc:
            toast(self, f"Cannot save the log: {exc}", severity="error")
            return
        toast(self, f"Saved {n:,} lines to {path}")

    def action_close(self) -> None:
        box = self.query_one("#log-search", Input)
        if box.has_focus and box.value:
            box.value = ""
            self.query_one(WindowTable).focus()
            return
        self.dismiss(None)

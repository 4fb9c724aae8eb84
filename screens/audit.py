"""The local audit trail (``A``): every action attempt, newest first, windowed from the cache."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Footer, Static

from screens.window_table import Column, WindowTable
from storage.audit import count_audit, list_audit
from storage.dbapi import RowDict

RESULT_STYLE = {"succeeded": "green", "failed": "bold red", "refused": "yellow",
                "cancelled": "dim", "confirmed": "cyan", "allowed": "cyan"}


class AuditSource:
    """Newest first; the filter matches an action name exactly (``stop``, ``delete``...)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def count(self, filter_text: str, at_most: int | None = None) -> int:  # never capped
        return count_audit(self.engine, filter_text.strip() or None)

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[RowDict]:
        return [e.as_dict() for e in list_audit(self.engine, limit=limit, offset=offset,
                                                action=filter_text.strip() or None)]


def _result(row: RowDict) -> tuple[str, str]:
    value = str(row.get("result") or "")
    return value, RESULT_STYLE.get(value, "")


def _when(row: RowDict) -> tuple[str, str]:
    value = str(row.get("time") or "")
    return (f"{value[:10]} {value[11:19]}" if len(value) >= 19 else value), ""


def _target(row: RowDict) -> tuple[str, str]:
    name = row.get("target_name") or row.get("target_id")
    return f"{row.get('target_type')} {name}", ""


AUDIT_COLUMNS = [
    Column("time", "When (UTC)", 19, render=_when),
    Column("action", "Action", 14),
    Column("result", "Result", 9, render=_result),
    Column("actor", "Who", 20),
    Column("target", "Object", 28, render=_target),
    Column("reason", "Reason / request id", 20),
]


class AuditScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q", "close", "Close")]

    def __init__(self, engine: Any) -> None:
        super().__init__(classes="log-screen")
        self.engine = engine

    def compose(self) -> ComposeResult:
        with Vertical(id="log-box") as box:
            box.border_title = "Audit trail of this cache (newest first)"
            yield Static(Text("Every action attempt from this console or `ism-tui act`: allowed, "
                              "refused, confirmed, cancelled, succeeded, failed.", "dim"),
                         markup=False)
            yield WindowTable(AuditSource(self.engine), AUDIT_COLUMNS)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(WindowTable)
        table.empty_text = "(no action attempts recorded in this cache yet)"
        table.focus()

    def action_close(self) -> None:
        self.dismiss(None)

"""The detail of one row as a full-screen modal (narrow terminals)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class DetailScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > VerticalScroll { width: 100%; height: 100%; border: round $accent;
                                    padding: 0 1; background: $surface; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close"),
    ]

    def __init__(self, body: Text, noun: str) -> None:
        super().__init__()
        self.body = body
        self.noun = noun

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = Text(f"{self.noun} detail (esc closes)")
            yield Static(self.body, markup=False)
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)

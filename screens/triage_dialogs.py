"""The Triage tab's small dialogs: a few typed fields (ticket, snooze, note), and the lists of
what changed since the lead's last session."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from screens.literal import literal

# (id, label, placeholder, initial value)
Field = tuple[str, str, str, str]


class AskFields(ModalScreen[dict[str, str] | None]):
    """Some typed fields; enter in the last one returns them by id, esc returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, title: str, fields: list[Field]) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.fields = fields

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = literal(self.title_text, 70)
            for field_id, label, placeholder, value in self.fields:
                yield Static(Text(label), markup=False)
                yield Input(value=value, placeholder=placeholder, id=f"ask-{field_id}")
            yield Static("enter saves · tab next field · esc cancels", classes="dialog-hint",
                         markup=False)

    def on_mount(self) -> None:
        self.query(Input).first().focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        boxes = list(self.query(Input))
        if event.input is not boxes[-1]:
            boxes[boxes.index(event.input) + 1].focus()
            return
        self.dismiss({f[0]: box.value for f, box in zip(self.fields, boxes, strict=True)})

    def action_cancel(self) -> None:
        self.dismiss(None)


class ChangesScreen(ModalScreen[None]):
    """What changed since the lead's last session, and what the Console resolved."""

    DEFAULT_CSS = """
    ChangesScreen { align: center middle; }
    ChangesScreen > VerticalScroll { width: 100%; max-width: 120; height: 90%;
                                     border: round $accent; background: $surface;
                                     padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,v", "close", "Close")]

    def __init__(self, body: Text) -> None:
        super().__init__()
        self.body = body

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "What changed (esc closes)"
            yield Static(self.body, markup=False)

    def action_close(self) -> None:
        self.dismiss(None)

"""``?``: every key binding of the console, in one screen."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS: list[tuple[str, str, str]] = [
    ("Everywhere", "1 … 5", "Triage, Accounts, Invites, Workspaces, Analytics tabs"),
    ("Everywhere", "tab / shift+tab", "move focus"),
    ("Everywhere", "r", "sync now (incremental)"),
    ("Everywhere", "A", "audit trail of actions (who, what, which object, result)"),
    ("Everywhere", "ctrl+p", "command palette: go to customer / user / workspace, actions"),
    ("Everywhere", "?", "this help"),
    ("Everywhere", "q / ctrl+q", "quit"),
    ("Tables", "↑ ↓ pgup pgdn home end", "move the cursor"),
    ("Tables", "enter", "open the detail (beside the table at >= 120 columns)"),
    ("Tables", "/", "filter as you type; esc clears"),
    ("Tables", "s / S", "cycle the sort column / reverse the order"),
    ("Tables", "b", "only rows with a blocker (adds is:blocked to the filter)"),
    ("Accounts", "c / u / t", "customers (with create readiness) / users / template aliases"),
    ("Accounts, Workspaces", "e", "escalate the selected customer, user or workspace (its "
     "blockers, or an ad-hoc escalation when it has none)"),
    ("Triage", "e", "export the selected escalation (Markdown file + clipboard)"),
    ("Triage", "E", "export what the selected customer escalates (not what is explained)"),
    ("Triage", "a / l", "actions / build logs of the blocker's invite or workspace"),
    ("Triage", "w x c z u n", "working, escalated, on the customer, snooze, seen, note"),
    ("Triage", "v / H", "what changed since your last session / handover report"),
    ("Triage", "is:new is:mine", "is:working is:escalated is:waiting is:reopened"),
    ("Triage", "is:snoozed / is:all", "only the snoozed (hidden until their snooze ends) / "
     "every blocker, snoozed too"),
    ("Workspaces, Invites", "a", "actions for the selected row (refused ones show why)"),
    ("Workspaces", "l", "build logs of the latest build"),
    ("Analytics", "p / c", "period / customer scope"),
    ("Analytics", "e / x", "export the escalation / the selection as CSV + JSON"),
    ("Dialogs", "esc", "cancel"),
]


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 90%; max-width: 100; height: 90%; border: round $accent;
                                  background: $surface; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,q,question_mark", "close", "Close")]

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_edge=False, show_header=False)
        table.add_column("Key", style="bold", no_wrap=True, max_width=24)
        table.add_column("Does", ratio=1)
        section = None
        for where, key, does in KEYS:
            if where != section:
                if section is not None:
                    table.add_row("", "")
                table.add_row(Text(where, style="bold underline"), "")
                section = where
            table.add_row(key, does)
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys (esc closes)"
            yield Static(table)

    def action_close(self) -> None:
        self.dismiss(None)

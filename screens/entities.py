"""Accounts (customers and users), Invites and Workspaces tabs: listings with their details,
the action menu (``a``) and, for workspaces, the build log viewer (``l``)."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import ContentSwitcher, Static

from screens import details
from screens.columns import (
    CUSTOMER_COLUMNS,
    INVITE_COLUMNS,
    TEMPLATE_COLUMNS,
    USER_COLUMNS,
    WORKSPACE_COLUMNS,
)
from screens.list_pane import ListPane
from screens.sources import ListingSource
from storage.queries import CUSTOMERS, INVITES, TEMPLATES, USERS, WORKSPACES

ESCALATE = Binding("e", "escalate", "Escalate")


def escalate_selected(pane: ListPane, kind: str) -> None:
    """An escalation for the selected row: its blockers, or an ad-hoc one (someone phoned in)."""
    row = pane.table.current
    if row is not None:
        pane.app.escalate_subject(kind, row["id"])  # type: ignore[attr-defined]


class CustomersPane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [ESCALATE]

    def __init__(self, engine: Any) -> None:
        super().__init__(ListingSource(engine, CUSTOMERS), CUSTOMER_COLUMNS,
                         lambda row: details.customer_text(engine, row["id"]), "customers",
                         id="customers")

    def action_escalate(self) -> None:
        escalate_selected(self, "customer")


class UsersPane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [ESCALATE]

    def __init__(self, engine: Any) -> None:
        super().__init__(ListingSource(engine, USERS), USER_COLUMNS,
                         lambda row: details.user_text(engine, row["id"]), "users", id="users")

    def action_escalate(self) -> None:
        escalate_selected(self, "user")


class TemplatesPane(ListPane):
    """Template aliases (global): alias, template version, state."""

    def __init__(self, engine: Any) -> None:
        super().__init__(ListingSource(engine, TEMPLATES), TEMPLATE_COLUMNS,
                         lambda row: details.template_text(engine, row["id"]), "templates",
                         id="templates")


VIEWS = (("c", "customers"), ("u", "users"), ("t", "templates"))


class AccountsPane(Vertical):
    """Customers (``c``), users (``u``) and template aliases (``t``) in one tab."""

    # not in the footer: the switch line above the listing shows them
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding(key, f"show('{name}')", name.capitalize(), show=False) for key, name in VIEWS
    ]

    def __init__(self, engine: Any) -> None:
        super().__init__(id="accounts")
        self.engine = engine

    def compose(self) -> ComposeResult:
        yield Static(Text.assemble(("c", "bold"), " customers  ", ("u", "bold"), " users  ",
                                   ("t", "bold"), " templates"),
                     id="accounts-switch", markup=False)
        with ContentSwitcher(initial="customers"):
            yield CustomersPane(self.engine)
            yield UsersPane(self.engine)
            yield TemplatesPane(self.engine)

    def action_show(self, which: str, focus: bool = True) -> None:
        self.query_one(ContentSwitcher).current = which
        pane = self.query_one(f"#{which}", ListPane)
        if focus:  # focusing inside a hidden tab would switch TabbedContent to it
            pane.table.focus()
        label = Text()
        for key, name in VIEWS:
            label.append(f" {key} {name} ", "reverse bold" if name == which else "")
            label.append(" ")
        self.query_one("#accounts-switch", Static).update(label)

    def on_mount(self) -> None:
        self.action_show("customers", focus=False)

    @property
    def current(self) -> ListPane:
        return self.query_one(f"#{self.query_one(ContentSwitcher).current}", ListPane)

    def reload(self) -> None:
        for pane in self.query(ListPane):
            pane.reload()

    def focus_table(self) -> None:
        self.current.table.focus()


class InvitesPane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "actions", "Actions")]

    def __init__(self, engine: Any) -> None:
        super().__init__(ListingSource(engine, INVITES), INVITE_COLUMNS,
                         lambda row: details.invite_text(engine, row["id"]), "invites",
                         id="invites")

    def action_actions(self) -> None:
        row = self.table.current
        if row is not None:
            self.app.open_actions("invite", row["id"])  # type: ignore[attr-defined]


class WorkspacesPane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "actions", "Actions"),
        Binding("l", "logs", "Logs"),
        # in ``?`` help and the palette: with it the footer overflows 80 columns
        Binding("e", "escalate", "Escalate", show=False),
    ]

    def __init__(self, engine: Any) -> None:
        super().__init__(ListingSource(engine, WORKSPACES), WORKSPACE_COLUMNS,
                         lambda row: details.workspace_text(engine, row["id"]), "workspaces",
                         id="workspaces")

    def action_actions(self) -> None:
        row = self.table.current
        if row is not None:
            self.app.open_actions("workspace", row["id"])  # type: ignore[attr-defined]

    def action_logs(self) -> None:
        row = self.table.current
        if row is not None:
            self.app.open_build_logs(row["id"])  # type: ignore[attr-defined]

    def action_escalate(self) -> None:
        escalate_selected(self, "workspace")

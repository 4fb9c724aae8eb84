"""The action menu (every action with its verdict) and the confirmation dialog.

Refused actions stay in the menu, dimmed, with the policy's reason; choosing one records the
refusal in the audit trail and repeats the reason. The confirmation names the effect, the object
and the customer; a delete needs the workspace name typed.
"""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from screens.literal import literal, plain, toast

LABELS = {"reissue_invite": "Reissue invite", "retry": "Retry the create",
          "cancel": "Cancel the running build", "start": "Start workspace",
          "stop": "Stop workspace", "delete": "Delete workspace"}
# a retry names the create it would retry only where there is one
RETRY_LABELS = {"failed": "Retry the failed create", "pending": "Retry the blocked create"}


def label(action: str, status: str | None = None) -> str:
    """The menu label of ``action`` on a subject in ``status`` (a workspace's)."""
    if action == "retry" and status in RETRY_LABELS:
        return RETRY_LABELS[status]
    return LABELS.get(action, action)


class ActionMenu(ModalScreen[str | None]):
    """Pick an action; returns its name (allowed or not) or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss_none", "Close")]

    def __init__(self, title: str, choices: list[tuple[str, bool, str]],
                 status: str | None = None) -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.choices = choices
        self.status = status

    def compose(self) -> ComposeResult:
        options = []
        for name, allowed, reason in self.choices:
            text = Text()
            if allowed:
                text.append("▶ ", "bold green")
                text.append(label(name, self.status))
            else:
                text.append("✖ ", "dim")
                text.append(label(name, self.status), "dim strike")
                text.append(f"  not allowed: {plain(reason, 120)}", "dim italic")
            options.append(Option(text, id=name))
        with Vertical(classes="dialog") as box:
            box.border_title = literal(self.title_text, 70)
            yield OptionList(*options, id="action-options")
            yield Static("enter chooses · esc closes", classes="dialog-hint", markup=False)

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)


class ConfirmAction(ModalScreen[str | None]):
    """Returns the typed confirmation ("" when no typing is needed), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, plan: Any) -> None:
        super().__init__(classes="dialog-screen")
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        subject = plan.subject
        body = Text()
        body.append(plain(plan.description, 300) + "\n\n", "bold")
        body.append(f"{'Object':<10}", "dim")
        body.append(f"{subject.kind} {plain(subject.name, 60)} ({plain(subject.id, 60)})\n")
        body.append(f"{'Customer':<10}", "dim")
        body.append(f"{plain(subject.customer_name, 50)} "
                    f"({plain(subject.customer_id or '—', 60)})\n")
        if plan.action == "delete":
            body.append("\nThe workspace and its storage are removed by the Console. "
                        "This cannot be undone.\n", "bold red")
        with Vertical(classes="dialog") as box:
            box.border_title = literal(
                f"Confirm: {label(plan.action, plan.subject.row.get('status'))}")
            yield Static(body, markup=False)
            if plan.requires_typed_name:
                # made of scrubbed parts; scrubbing it again (``plain``) can eat the ")" after
                # a redacted value
                yield Static(Text(plan.prompt), markup=False)
                yield Input(placeholder=plain(plan.confirm_text, 60), id="confirm-name")
            with Horizontal(classes="dialog-buttons"):
                yield Button("Confirm", id="confirm",
                             variant="error" if plan.action == "delete" else "primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        if self.plan.requires_typed_name:
            self.query_one("#confirm-name", Input).focus()
        else:
            self.query_one("#confirm", Button).focus()

    def _typed(self) -> str:
        if not self.plan.requires_typed_name:
            return ""
        return self.query_one("#confirm-name", Input).value

    def _try_confirm(self) -> None:
        typed = self._typed()
        if not self.plan.confirmation_matches(typed):
            toast(self.app, "That does not match: type it as the dialog shows it.",
                  severity="warning")
            return
        self.dismiss(typed)

    @on(Input.Submitted, "#confirm-name")
    def _submitted(self) -> None:
        self._try_confirm()

    @on(Button.Pressed, "#confirm")
    def _confirm(self) -> None:
        self._try_confirm()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

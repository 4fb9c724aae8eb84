"""Triage tab: the blocker queue (severity, then age), the selected case in full, and export."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from ism_tui.triage.export import escalating
from ism_tui.triage.store import get_blocker, list_blockers, routed
from screens.columns import BLOCKER_COLUMNS
from screens.details import blocker_text
from screens.list_pane import ListPane
from screens.literal import toast
from screens.sources import ListingSource
from storage.queries import BLOCKERS


class TriagePane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "export", "Export"),
        Binding("E", "export_customer", "Export customer", show=False),
        Binding("a", "actions", "Actions"),
        Binding("l", "logs", "Logs", show=False),
    ]

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        super().__init__(ListingSource(engine, BLOCKERS), BLOCKER_COLUMNS, self._describe,
                         "blockers", id="triage")

    def on_mount(self) -> None:
        super().on_mount()
        self.table.empty_text = "(no blockers in the cache; press r to sync if it is empty)"

    def _describe(self, row: dict[str, Any]) -> Text:
        blocker = get_blocker(self.engine, row["id"])
        if blocker is None:
            return Text("This blocker was resolved by the last sync.")
        return blocker_text(routed(self.engine, [blocker])[0])

    def action_export(self) -> None:
        row = self.table.current
        if row is None:
            toast(self.app, "No blocker selected.", severity="warning")
            return
        blocker = get_blocker(self.engine, row["id"])
        if blocker is None:
            toast(self.app, "This blocker was resolved by the last sync.", severity="warning")
            return
        self.app.export_escalation([blocker], f"escalation-{blocker.case}")  # type: ignore[attr-defined]

    def action_export_customer(self) -> None:
        row = self.table.current
        if row is None or not row.get("customer_id"):
            toast(self.app, "No customer selected.", severity="warning")
            return
        blockers = escalating(routed(self.engine, list_blockers(
            self.engine, customer_id=row["customer_id"])))
        self.app.export_escalation(blockers, f"escalations-{row['customer_id']}")  # type: ignore[attr-defined]

    def action_actions(self) -> None:
        """The action menu of the selected blocker's subject (an invite or a workspace)."""
        row = self.table.current
        if row is None or row.get("subject_type") not in ("invite", "workspace"):
            self.app.notify("No action applies here: see who acts next.", severity="warning")
            return
        self.app.open_actions(row["subject_type"], row["subject_id"])  # type: ignore[attr-defined]

    def action_logs(self) -> None:
        row = self.table.current
        if row is not None and row.get("subject_type") == "workspace":
            self.app.open_build_logs(row["subject_id"])  # type: ignore[attr-defined]

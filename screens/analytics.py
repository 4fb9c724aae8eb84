"""Analytics tab: scope and period, totals, a per-day chart, reconciliation, top lists, and the
playbook's "why is this empty?" checks with the escalation to send. Reads AnalyticsService only."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Sparkline, Static
from textual.widgets.option_list import Option

from ism_tui.analytics import periods
from ism_tui.analytics.export import export
from ism_tui.analytics.service import AnalyticsError, AnalyticsService, AnalyticsView, Selection
from ism_tui.private_files import export_path, write_private
from ism_tui.redact import scrub_values
from screens.literal import literal, plain, toast

PRESET_ORDER = ["today", "7d", "30d", "this-month", "last-month", "90d"]
STATUS_WORDS = {"ok": ("✔ OK", "bold green"), "partial": ("⚠ PARTIAL", "bold yellow"),
                "empty": ("✖ EMPTY", "bold red"), "denied": ("ℹ NOT AVAILABLE", "bold cyan")}


def _num(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


class PickScreen(ModalScreen[str | None]):
    """A filterable list of (id, label) choices; returns the chosen id."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, choices: list[tuple[str, str]], hint: str = "") -> None:
        super().__init__(classes="dialog-screen")
        self.title_text = title
        self.choices = choices
        self.hint = hint

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog") as box:
            box.border_title = literal(self.title_text, 70)
            yield Input(placeholder=self.hint or "type to filter, enter picks", id="pick-filter")
            yield OptionList(*self._options(""), id="pick-options")

    def _options(self, text: str) -> list[Option]:
        low = text.casefold()
        return [Option(literal(label, 80), id=key) for key, label in self.choices
                if low in label.casefold() or low in key.casefold()][:300]

    @on(Input.Changed, "#pick-filter")
    def _filter(self, event: Input.Changed) -> None:
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options(self._options(event.value))
        if options.option_count:
            options.highlighted = 0

    @on(Input.Submitted, "#pick-filter")
    def _submit(self, event: Input.Submitted) -> None:
        options = self.query_one(OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)
        elif self.hint and event.value.strip():
            self.dismiss("custom:" + event.value.strip())

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def on_key(self, event: Any) -> None:
        if event.key in ("down", "up") and self.query_one(Input).has_focus:
            self.query_one(OptionList).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class AnalyticsPane(VerticalScroll, can_focus=True):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pick_period", "Period"),
        Binding("c", "pick_scope", "Customer"),
        Binding("x", "export", "Export"),
        Binding("e", "escalate", "Escalation"),
    ]

    def __init__(self, engine: Any, clock: Callable[[], datetime]) -> None:
        super().__init__(id="analytics")
        self.service = AnalyticsService(engine, clock=clock, top_n=5)
        self.clock = clock
        self.scope: str | None = None
        self.period = periods.preset(periods.DEFAULT_PRESET, periods.today_utc(clock))
        self.view: AnalyticsView | None = None
        self._stale = True

    def compose(self) -> ComposeResult:
        yield Static("", id="an-controls", markup=False)
        yield Static("", id="an-summary", markup=False)
        yield Static("", id="an-chart-label", markup=False)
        yield Sparkline([], id="an-chart")
        yield Static("", id="an-body", markup=False)

    def on_show(self) -> None:
        if self._stale:
            self.reload()

    def reload(self) -> None:
        """Recompute the view; off screen, only mark it stale (computed when shown)."""
        if not self.region:
            self._stale = True
            return
        self._stale = False
        try:
            self.view = self.service.view(Selection(self.scope, self.period))
        except AnalyticsError as exc:
            self.view = None
            self.query_one("#an-summary", Static).update(literal(exc, style="bold red"))
            return
        self._show(self.view)

    # ------------------------------------------------------------------ rendering

    def _show(self, view: AnalyticsView) -> None:
        p = view.selection.period
        controls = Text()
        controls.append("p ", "bold")
        controls.append(f"period: {p.label}   ")
        controls.append("c ", "bold")
        controls.append(f"scope: {plain(view.scope_label, 40)}")
        self.query_one("#an-controls", Static).update(controls)
        word, style = STATUS_WORDS.get(view.status, ("?", ""))
        summary = Text()
        summary.append(f" {word} ", style + " reverse")
        summary.append(" ")
        chart = self.query_one("#an-chart", Sparkline)
        label = self.query_one("#an-chart-label", Static)
        body = Text()
        if view.status == "denied":
            summary.append(plain(view.denied, 300))
            for note in view.notes:
                body.append("\n" + plain(note, 400) + "\n", "cyan")
            body.append("\nNo escalation is needed.\n", "dim")
            chart.display = label.display = False
            self.query_one("#an-summary", Static).update(summary)
            self.query_one("#an-body", Static).update(body)
            return
        chart.display = label.display = True
        t = view.totals
        summary.append(f"{_num(t.workspace_hours)} workspace h", "bold")
        summary.append(f" · {_num(t.ai_credits_used, 2)} AI credits · ${_num(t.cost_usd, 2)}")
        summary.append(f" · {t.rows:,} rows on {view.days_with_usage}/{p.days} days", "dim")
        for note in view.notes:
            summary.append("\n" + plain(note, 300), "yellow")
        self.query_one("#an-summary", Static).update(summary)
        hours = [d.amounts.workspace_hours for d in view.days]
        peak = max(hours, default=0.0)
        label.update(Text(f"Workspace hours per day ({p.start} → {p.end}), peak {_num(peak)} h",
                          "dim"))
        chart.data = hours or [0.0]
        recon = ", ".join(f"{k} {v}" for k, v in sorted(view.reconciliation_summary.items()))
        through = (view.provider_data_through.strftime("%Y-%m-%d %H:%MZ")
                   if view.provider_data_through else "unknown")
        body.append("Reconciliation (days): ", "bold")
        body.append(plain(recon or "none reported") + "\n")
        body.append("Provider data through: ", "bold")
        body.append(through + "\n")
        bad = [d for d in view.reconciliation if d.status != "reconciled"]
        if bad:
            body.append("Days not reconciled: ", "bold yellow")
            body.append(plain(", ".join(f"{d.day:%m-%d} {d.status}" for d in bad[:10]))
                        + (" …" if len(bad) > 10 else "") + "\n")
        if view.diagnosis:
            body.append("\n" + ("Analytics looks empty? " if view.status == "empty" else
                                "Usage may be incomplete? ") + "The playbook's five checks:\n",
                        "bold underline")
            for f in view.diagnosis:
                mark, st = ("✖ HOLDS", "bold red") if f.holds else ("✔ ok   ", "green")
                body.append(f"  {mark} ", st)
                body.append(f"{f.title}", "bold" if f.primary else "")
                body.append(" (most likely)\n" if f.primary else "\n", "bold yellow")
                body.append("          " + plain(f.summary, 300) + "\n", "dim")
                if f.holds:
                    for e in f.evidence[:5]:
                        body.append("          · " + plain(e, 300) + "\n")
                    body.append("          fix: " + f.fix + "\n", "italic")
        if view.fix is not None:
            body.append("\nNothing to escalate: ", "bold")
            body.append(view.fix + "\n")
        if view.escalation is not None:
            body.append("\nIf the period is right and usage is still missing, press ", "")
            body.append("e", "bold")
            body.append(" to export the escalation for ISM support (selected period + "
                        "reconciliation status).\n")
        body.append_text(self._tops(view))
        self.query_one("#an-body", Static).update(body)

    def _tops(self, view: AnalyticsView) -> Text:
        out = Text()
        if view.top_customers:
            out.append("\nTop customers\n", "bold underline")
            for c in view.top_customers:
                out.append(f"  {_num(c.amounts.workspace_hours):>9} h  ")
                out.append(plain(c.name, 40) + "\n")
        if view.top_workspaces:
            out.append(f"\nTop workspaces ({view.workspaces_with_usage:,} with usage)\n",
                       "bold underline")
            for w in view.top_workspaces:
                out.append(f"  {_num(w.amounts.workspace_hours):>9} h  ")
                out.append(plain(w.name or w.workspace_id, 32))
                out.append(f"  {plain(w.owner_email, 36)}\n", "dim")
        if view.top_users:
            out.append(f"\nTop users ({view.users_with_usage:,} with usage)\n", "bold underline")
            for u in view.top_users:
                out.append(f"  {_num(u.amounts.workspace_hours):>9} h  ")
                out.append(plain(u.email or u.user_id, 48) + "\n")
        return out

    # ------------------------------------------------------------------ keys

    def action_pick_period(self) -> None:
        today = periods.today_utc(self.clock)
        choices = [(k, periods.preset(k, today).label) for k in PRESET_ORDER]

        def chosen(key: str | None) -> None:
            if not key:
                return
            try:
                if key.startswith("custom:"):
                    parts = key.removeprefix("custom:").replace("..", " ").split()
                    if len(parts) != 2:
                        raise periods.PeriodError(
                            "a custom period is two dates: YYYY-MM-DD YYYY-MM-DD")
                    self.period = periods.custom(periods.parse_day(parts[0], "start"),
                                                 periods.parse_day(parts[1], "end"), today)
                else:
                    self.period = periods.preset(key, today)
            except periods.PeriodError as exc:
                toast(self.app, exc, severity="error")
                return
            self.reload()

        self.app.push_screen(PickScreen(
            "Period", choices, "a preset, or a custom range: 2026-10-01 2026-10-31"), chosen)

    def action_pick_scope(self) -> None:
        choices = [("*", "All customers")] + [(c.id, f"{c.name} ({c.id})")
                                             for c in self.service.customers()]

        def chosen(key: str | None) -> None:
            if key is None or key.startswith("custom:"):
                return
            self.scope = None if key == "*" else key
            self.reload()

        self.app.push_screen(PickScreen("Customer scope", choices), chosen)

    def action_export(self) -> None:
        if self.view is None or self.view.status == "denied":
            toast(self.app, "Nothing to export for this role.", severity="warning")
            return
        directory = self.app.services.settings.export_dir  # type: ignore[attr-defined]
        p = self.view.selection.period
        stem = f"usage-{self.view.selection.scope_customer_id or 'all'}-{p.start}-{p.end}"
        try:
            for fmt in ("csv", "json"):
                path = export_path(directory, stem, fmt)
                write_private(path, export(self.view, fmt))
        except OSError as exc:
            toast(self.app, f"Cannot write the export: {exc}", severity="error")
            return
        toast(self.app, f"Wrote {path.with_suffix('')}.csv and .json")

    def action_escalate(self) -> None:
        if self.view is not None and self.view.fix is not None:
            toast(self.app, f"Nothing to escalate: {self.view.fix}", severity="information")
            return
        if self.view is None or self.view.escalation is None:
            toast(self.app, "This selection shows usage: there is nothing to escalate.",
                  severity="information")
            return
        fields = scrub_values(self.view.escalation)
        text = "```json\n" + json.dumps(fields, indent=2, default=str) + "\n```\n"
        md = (f"## Analytics looks empty: {plain(self.view.scope_label)}\n\n"
              "Send to ISM support with the selected period and the visible reconciliation "
              "status.\n\n" + text)
        self.app.save_and_copy(md, "analytics-escalation")  # type: ignore[attr-defined]

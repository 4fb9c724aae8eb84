"""Triage tab: the blocker queue (severity, then age), the selected case in full, and export;
the lead's trail on each blocker (state, ticket, note), set with one key each. Snoozed blockers
leave the queue until their snooze ends (``is:snoozed`` shows them); the status line counts
them."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from ism_tui.triage.export import escalating
from ism_tui.triage.store import get_blocker, list_blockers, routed
from ism_tui.triage.trail import FILTER_WORDS, Trail, TrailInputError, iso_min, shows_snoozed
from screens.columns import BLOCKER_COLUMNS
from screens.details import blocker_text, when
from screens.flags import SEVERITY_STYLE, STATE_STYLE, state_style
from screens.list_pane import ListPane
from screens.literal import plain, toast
from screens.sources import ListingSource
from screens.triage_dialogs import AskFields, ChangesScreen
from storage.dbapi import RowDict
from storage.queries import BLOCKERS, Within
from storage.triage_io import blocker_heads

SNOOZE_CHECK = 30.0  # seconds between looks at whether a snooze has ended


class TriagePane(ListPane):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("e", "export", "Export"),
        Binding("E", "export_customer", "Export customer", show=False),
        Binding("a", "actions", "Actions"),
        Binding("l", "logs", "Logs", show=False),
        # the footer keeps to what fits 80 columns; the detail and ``?`` list these
        Binding("w", "state('working')", "Working", show=False),
        Binding("x", "escalate", "Escalated", show=False),
        Binding("c", "state('waiting')", "Waiting", show=False),
        Binding("z", "snooze", "Snooze", show=False),
        Binding("u", "state('seen')", "Unmark", show=False),
        Binding("n", "note", "Note", show=False),
        Binding("v", "changes", "Changes", show=False),
        Binding("H", "handover", "Handover", show=False),
    ]

    def __init__(self, engine: Any, trail: Trail) -> None:
        self.engine = engine
        self.trail = trail
        source = ListingSource(engine, BLOCKERS, restrict=self._restrict,
                               annotate=trail.annotate)
        super().__init__(source, BLOCKER_COLUMNS, self._describe, "blockers", id="triage")
        self._hidden = 0  # snoozed blockers the filter leaves out
        self._snooze_ends: str | None = None  # when the first of them comes back

    def on_mount(self) -> None:
        super().on_mount()
        self.table.empty_text = "(no blockers in the cache; press r to sync if it is empty)"
        self.set_interval(SNOOZE_CHECK, self._snooze_over)

    def _restrict(self, filter_text: str) -> tuple[str, Within | None]:
        words = filter_text.split()
        snoozed = self.trail.snoozed()
        self._hidden = 0 if shows_snoozed(words) else len(snoozed)
        self._snooze_ends = str(snoozed[0]["snoozed_until"]) if snoozed else None
        rest = " ".join(w for w in words if w not in FILTER_WORDS)
        return rest, self.trail.filter_ids(words, snoozed)

    def status_note(self) -> str:
        return f"{self._hidden} snoozed hidden (is:snoozed shows them)" if self._hidden else ""

    def _snooze_over(self) -> None:
        """A snooze that has ended brings its blocker back without waiting for a sync."""
        if self._snooze_ends is not None and self._snooze_ends <= self.trail.now():
            self.reload()

    # ------------------------------------------------------------------ detail

    def _describe(self, row: RowDict) -> Text:
        blocker = get_blocker(self.engine, row["id"])
        if blocker is None:
            return Text("This blocker was resolved by the last sync.")
        mark = row.get("_mark")
        if mark is None or mark["state"] == "new":  # the lead is looking at it now
            mark = self.trail.mark_seen(row["id"], self._known(row["id"]) or {})
            row["_mark"], row["_state"] = mark, "seen"
            self.table.refresh_current()
        history = self.trail.history(row["id"])
        return (trail_text(mark, history, self.trail.lead())
                + blocker_text(routed(self.engine, [blocker])[0]) + KEYS_HINT)

    def _known(self, blocker_id: str) -> RowDict | None:
        found = blocker_heads(self.engine, [blocker_id])
        return found[0] if found else None

    # ------------------------------------------------------------------ the lead's trail

    def _selected_id(self) -> str | None:
        row = self.table.current
        if row is None:
            toast(self.app, "No blocker selected.", severity="warning")
            return None
        return str(row["id"])

    def action_state(self, state: str) -> None:
        blocker_id = self._selected_id()
        if blocker_id is not None:
            self._record(blocker_id, partial(self.trail.set_state, state=state))

    def _record(self, blocker_id: str, edit: Callable[[str, RowDict | None], RowDict],
                what: str = "") -> None:
        """``edit(blocker_id, known)`` committed, said in a toast, shown in the table."""
        try:
            mark = edit(blocker_id, self._known(blocker_id))
        except TrailInputError as exc:
            toast(self.app, exc, severity="warning")
            return
        word = what or STATE_STYLE.get(str(mark["state"]), (str(mark["state"]), ""))[0]
        toast(self.app, f"{plain(blocker_id, 60)}: {word}", timeout=3)
        self.reload()

    def action_escalate(self) -> None:
        blocker_id = self._selected_id()
        if blocker_id is None:
            return
        blocker = get_blocker(self.engine, blocker_id)
        mark = self.trail.store.mark(blocker_id) or {}
        where = mark.get("ticket_where") or (blocker.escalate_to if blocker else "") or ""
        fields = [("ticket", "Ticket reference", "e.g. SUP-1234", mark.get("ticket") or ""),
                  ("where", "Escalated to (where)", "e.g. ISM support", where)]
        self.app.push_screen(AskFields(f"Escalated: {blocker_id}", fields),
                             partial(self._escalated, blocker_id))

    def _escalated(self, blocker_id: str, answer: dict[str, str] | None) -> None:
        if answer is not None:
            self._record(blocker_id, partial(self.trail.set_state, state="escalated",
                                             ticket=answer["ticket"], where=answer["where"]))

    def action_snooze(self) -> None:
        blocker_id = self._selected_id()
        if blocker_id is not None:
            fields = [("until", "Snooze until", "30m, 2h, 1d, 1w or 2026-11-25T09:00Z", "1d")]
            self.app.push_screen(AskFields(f"Snooze: {blocker_id}", fields),
                                 partial(self._snoozed, blocker_id))

    def _snoozed(self, blocker_id: str, answer: dict[str, str] | None) -> None:
        if answer is not None:
            self._record(blocker_id, partial(self.trail.set_state, state="snoozed",
                                             until=answer["until"]))

    def action_note(self) -> None:
        blocker_id = self._selected_id()
        if blocker_id is not None:
            note = (self.trail.store.mark(blocker_id) or {}).get("note") or ""
            fields = [("note", "Note (secrets are removed; empty clears it)", "", note)]
            self.app.push_screen(AskFields(f"Note: {blocker_id}", fields),
                                 partial(self._noted, blocker_id))

    def _noted(self, blocker_id: str, answer: dict[str, str] | None) -> None:
        if answer is not None:
            self._record(blocker_id, partial(self.trail.set_note, text=answer["note"]),
                         "note saved")

    def action_changes(self) -> None:
        since = self.app.session_boundary  # type: ignore[attr-defined]
        self.app.push_screen(ChangesScreen(changes_text(self.trail.changes_since(since),
                                                        since)))

    def action_handover(self) -> None:
        self.app.write_handover()  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ exports

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
            toast(self.app, "No action applies here: see who acts next.", severity="warning")
            return
        self.app.open_actions(row["subject_type"], row["subject_id"])  # type: ignore[attr-defined]

    def action_logs(self) -> None:
        row = self.table.current
        if row is not None and row.get("subject_type") == "workspace":
            self.app.open_build_logs(row["subject_id"])  # type: ignore[attr-defined]


def _line(out: Text, label: str, value: str, style: str = "") -> None:
    out.append(f"{label:<16}", "dim")
    out.append(plain(value, 400) + "\n", style)


def trail_text(mark: RowDict | None, history: list[RowDict], lead: str) -> Text:
    """The lead's trail on one blocker, above its case: state (and who set it, if another
    lead), ticket, snooze, note, and its last events; nothing for a blocker only looked at."""
    out = Text()
    state = "new" if mark is None else str(mark["state"])
    recent = [e for e in history if e["kind"] != "appeared"][-3:]
    if state in ("new", "seen") and not (mark and (mark["note"] or mark["reopened"]
                                                   or mark["woken_at"])) and not recent:
        return out  # nothing the table's Triage column does not say already
    word, style = state_style(state, mark)
    if mark is not None and mark["ticket"] and state == "escalated":
        word += f" · ticket {mark['ticket']} to {mark['ticket_where'] or '?'}"
    if mark is not None and state == "snoozed":
        word += f" until {iso_min(mark['snoozed_until'])}"
    if mark is not None and mark["lead"] and mark["lead"] != lead:
        word += f" (by {mark['lead']})"
    _line(out, "Triage", word, style)
    if mark is not None and mark["woken_at"]:
        _line(out, "Snooze", f"ended early {when(mark['woken_at'])}: its severity went up",
              "yellow")
    if mark is not None and mark["note"]:
        _line(out, "Note", str(mark["note"]), "italic")
    if recent:
        _line(out, "History", " · ".join(f"{when(e['at'])} {e['kind']}" for e in recent), "dim")
    return out


KEYS_HINT = Text("\nw working · x escalated · c waiting on customer · z snooze · n note · u seen "
                 "· v what changed · H handover\n", "dim")


def changes_text(changes: dict[str, list[RowDict]], since: str | None) -> Text:
    out = Text()
    out.append(f"Since your last session ({iso_min(since) if since else 'the first one'})\n",
               "bold underline")
    titles = {"appeared": "New", "worse": "Got worse", "reopened": "Reopened (notes kept)",
              "resolved": "Resolved by the Console"}
    for kind, title in titles.items():
        rows = changes[kind]
        if kind == "resolved":
            out.append("\n")
        out.append(f"\n{title}: {len(rows)}\n", "bold")
        for r in rows[:200]:
            sev, style = SEVERITY_STYLE.get(int(r["severity"] or 0), ("?", ""))
            out.append(f"  {sev:<7}", style)
            out.append(f" {plain(r['customer'], 24):<24} "
                       f"{plain(r['summary'] or r['blocker_id'], 200)}")
            if kind == "worse":
                out.append(f"  ({_worse(r['detail'])})", "yellow")
            if r["note"]:
                out.append(f"  note: {plain(r['note'], 80)}", "italic")
            out.append("\n")
        if len(rows) > 200:
            out.append(f"  … and {len(rows) - 200} more\n", "dim")
    return out


def _worse(detail: RowDict) -> str:
    parts = []
    if "severity" in detail:
        old, new = detail["severity"]
        parts.append(f"severity {SEVERITY_STYLE.get(old, ('?',))[0]} -> "
                     f"{SEVERITY_STYLE.get(new, ('?',))[0]}")
    if "age_days" in detail:
        parts.append(f"older than {detail['age_days']} days")
    return ", ".join(parts)

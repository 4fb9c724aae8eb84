"""A tab's body: filter box, windowed table, status line, and the selected row's detail.

At 120 columns and wider the detail sits beside the table and follows the cursor; narrower,
``enter`` opens it as a full-screen modal so nothing is cut off at 80x24.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Input, Static

from screens.detail_screen import DetailScreen
from screens.window_table import Column, Source, WindowTable
from storage.dbapi import RowDict
from storage.queries import BLOCKED_WORD

Describe = Callable[[RowDict], Text]
WIDE = 120
COUNT_CAP = 10_000  # a filter's matches are counted up to this many (WindowTable.count_cap)


class ListPane(Vertical):
    """One listing with its filter and detail; ``describe(row)`` renders the detail."""

    DEFAULT_CSS = """
    ListPane { height: 1fr; }
    ListPane > Input { display: none; height: 3; }
    ListPane.filtering > Input { display: block; }
    ListPane > Horizontal { height: 1fr; }
    ListPane .list-detail { width: 1fr; min-width: 40; border-left: vkey $panel; display: none;
                            padding: 0 1; }
    ListPane.wide .list-detail { display: block; }
    ListPane WindowTable { width: 1fr; }
    ListPane.wide WindowTable { width: 2fr; }
    ListPane > .list-status { height: 1; color: $text-muted; background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("b", "only_blocked", "Blocked"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
    ]

    def __init__(self, source: Source, columns: list[Column], describe: Describe, noun: str,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.columns = columns
        self.describe = describe
        self.noun = noun
        self._debounce: Any = None
        self._detail_due = False

    def compose(self) -> ComposeResult:
        # the filter box is mounted when first used (``filter_box``): hidden until then, an
        # Input would still be built before the console's first paint
        with Horizontal():
            yield WindowTable(self.source, self.columns, count_cap=COUNT_CAP)
            with VerticalScroll(classes="list-detail"):
                yield Static("", classes="list-detail-body", markup=False)
        yield Static("", classes="list-status", markup=False)

    @property
    def table(self) -> WindowTable:
        return self.query_one(WindowTable)

    def on_mount(self) -> None:
        self.set_class(self.app.size.width >= WIDE, "wide")

    def on_resize(self) -> None:
        self.set_class(self.app.size.width >= WIDE, "wide")
        if self.has_class("wide"):  # the detail's padding fits the pane's new height
            self.call_after_refresh(self._show_current)

    def reload(self) -> None:
        self.table.reload()

    def status_note(self) -> str:
        """What the status line says after the count (nothing here; a pane may add)."""
        return ""

    def _box(self) -> Input | None:
        return next(iter(self.query(Input)), None)

    async def filter_box(self) -> Input:
        """The filter box (mounted now if it was never used)."""
        found = self._box()
        if found is not None:
            return found
        box = Input(placeholder=f"filter {self.noun} (words match name, email, customer...)",
                    classes="list-filter")
        await self.mount(box, before=0)
        return box

    async def show_filter(self, text: str) -> None:
        """Filter to ``text``, shown in the filter box (``b``, ``go to`` a subject)."""
        box = await self.filter_box()
        box.value = text
        self.set_class(bool(text), "filtering")
        self.table.set_filter(text)

    async def action_filter(self) -> None:
        self.add_class("filtering")
        (await self.filter_box()).focus()

    async def action_only_blocked(self) -> None:
        """Toggle ``is:blocked`` in the filter: only rows with a blocker."""
        words = (await self.filter_box()).value.split()
        if BLOCKED_WORD in words:
            words.remove(BLOCKED_WORD)
        else:
            words.insert(0, BLOCKED_WORD)
        await self.show_filter(" ".join(words))

    def action_clear_filter(self) -> None:
        box = self._box()
        if box is not None and box.value:
            box.value = ""
        self.remove_class("filtering")
        self.table.focus()

    @on(Input.Changed, ".list-filter")
    def _changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        value = event.value
        self._debounce = self.set_timer(0.1, lambda: self.table.set_filter(value))

    @on(Input.Submitted, ".list-filter")
    def _submitted(self, event: Input.Submitted) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self.table.set_filter(event.value)
        if not event.value:
            self.remove_class("filtering")
        self.table.focus()

    @on(WindowTable.Highlighted)
    def _highlighted(self, event: WindowTable.Highlighted) -> None:
        if isinstance(event, WindowTable.Selected):
            return
        status = self.table.status_line(self.noun, self.status_note())
        self.query_one(".list-status", Static).update(Text(status), layout=False)
        if self.has_class("wide") and not self._detail_due:
            # drawn after the table's repaint, and once for however many keys came before
            # it: a key held down moves the cursor faster than a detail per row could be drawn
            self._detail_due = True
            self.call_after_refresh(self._show_current)

    def _show_current(self) -> None:
        self._detail_due = False
        row = self.table.current
        self._show_detail(self.describe(row) if row else Text(""))

    def _show_detail(self, body: Text) -> None:
        """The detail beside the table. A layout of the screen (every widget on it, twice:
        the new size lays it out again) costs a keystroke more than the rest of its repaint,
        so the detail is at least as tall as its pane and the screen is laid out only when
        the detail's height changes: from one detail taller than the pane to another."""
        scroll = self.query_one(".list-detail", VerticalScroll)
        detail = scroll.query_one(Static)
        pane = scroll.scrollable_content_region.height
        detail.styles.min_height = pane  # a layout only if the pane's height changed
        detail.update(body, layout=False)
        height = detail.get_content_height(detail.container_size, self.app.size,
                                           detail.content_size.width)
        if max(height, pane) != detail.content_size.height:
            detail.refresh(layout=True)

    @on(WindowTable.Selected)
    def _selected(self, event: WindowTable.Selected) -> None:
        if event.row is None:
            return
        if not self.has_class("wide"):
            self.app.push_screen(DetailScreen(self.describe(event.row), self.noun))

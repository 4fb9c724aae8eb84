"""A table that reads only the rows it shows (Textual's Line API over a windowed data source).

The stock ``DataTable`` holds every row in memory (100k rows took ~13.5 s here); this widget asks
its source for ``count(filter)`` and ``window(offset, limit, ...)`` and caches a few screens of
rows around the viewport, so first paint, scrolling and filtering stay flat as the cache grows.
Cells are Segments of ``screens.literal.plain`` text (no secrets, no escapes, never parsed as
markup), worked out once per cached row.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from rich.cells import set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from screens.literal import plain
from storage.dbapi import RowDict


class Source(Protocol):
    def count(self, filter_text: str, at_most: int | None = None) -> int:
        """Rows matching ``filter_text`` (or ``at_most`` when there are at least that many;
        a source may ignore ``at_most`` if its table is never capped)."""

    def window(self, offset: int, limit: int, filter_text: str, sort: str | None,
               descending: bool) -> list[RowDict]: ...


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # cells; the last column also takes what is left
    sort: str | None = None  # the source's sort key for this column
    render: Callable[[RowDict], tuple[str, str]] | None = None  # row -> (text, style)


class WindowTable(ScrollView, can_focus=True):
    """Rows from a ``Source``, read a window at a time; one header line drawn on top."""

    DEFAULT_CSS = """
    WindowTable { height: 1fr; overflow-x: hidden; }
    WindowTable > .window-table--header { text-style: bold; background: $panel; }
    WindowTable > .window-table--cursor { background: $accent; color: $text; }
    WindowTable:blur > .window-table--cursor { background: $accent 40%; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"window-table--header", "window-table--cursor"}
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Up", show=False),
        Binding("down", "move(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Top", show=False),
        Binding("end", "jump(-1)", "Bottom", show=False),
        Binding("enter", "select", "Open", show=True),
        # in ``?`` help and the palette; the footer keeps the keys an 80-column line can hold
        Binding("s", "cycle_sort", "Sort", show=False),
        Binding("S", "flip_sort", "Reverse", show=False),
    ]

    cursor: reactive[int] = reactive(0, repaint=False)  # watch_cursor repaints what moved

    class Highlighted(Message):
        def __init__(self, table: WindowTable, row: RowDict | None) -> None:
            super().__init__()
            self.table = table
            self.row = row

        @property
        def control(self) -> WindowTable:
            return self.table

    class Selected(Highlighted):
        pass

    def __init__(self, source: Source, columns: list[Column], *, name: str | None = None,
                 id: str | None = None, classes: str | None = None,
                 count_cap: int | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.source = source
        self.columns = columns
        self.filter_text = ""
        self.sort: str | None = None
        self.descending = False
        self.total = 0
        # A filter's matches are counted up to ``count_cap`` (the source must take
        # ``at_most``): the table then shows "10,000+" and counts them all only when the
        # operator goes near the end. At 1M rows a common word costs the time to find 10,000
        # matches instead of a scan of the whole table on every keystroke.
        self.count_cap = count_cap
        self.exact = True
        self._cache: dict[int, RowDict] = {}
        self._cells: dict[int, list[tuple[str, Style | None]]] = {}  # shown text, by row
        # painted rows, by row: (base style, width, strip). A cursor move that scrolls
        # repaints every line, and all but one of them were painted a keystroke ago.
        self._strips: dict[int, tuple[Style, int, Strip]] = {}
        self._counted = False
        self._select_when_counted = False
        self._frame_styles: tuple[Style, Style] | None = None
        self.empty_text = "(no rows in the cache: press r to sync)"

    # ------------------------------------------------------------------ data

    def reload(self) -> None:
        """Forget cached rows and the count (after a sync, a filter or a sort change).

        A table that is not on screen (another tab) only marks itself stale: it counts when
        it is next shown, so start-up and a sync's refresh pay for the visible tab only."""
        self._forget_rows()
        if not self.region:
            self._counted = False
            return
        cap = self.count_cap if self.filter_text else None
        if cap is None:
            self.total, self.exact = self.source.count(self.filter_text), True
        else:
            self.total = self.source.count(self.filter_text, at_most=cap)
            self.exact = self.total < cap
        self._counted = True
        self.virtual_size = Size(self.size.width, self.total + 1)
        if self.cursor >= self.total:
            self.cursor = max(self.total - 1, 0)
        self.refresh()
        self._announce()
        if self._select_when_counted:
            self._select_when_counted = False
            self.action_select()

    def count_all(self) -> None:
        """Count every match of a capped count (the operator is going near its end)."""
        if self.exact:
            return
        self.total, self.exact = self.source.count(self.filter_text), True
        self.virtual_size = Size(self.size.width, self.total + 1)
        self.refresh()
        self._announce()

    def select_when_counted(self) -> None:
        """Open the current row now if the table has counted, else as soon as it has (a tab
        that was just switched to counts only once it is laid out)."""
        if self._counted:
            self.action_select()
        else:
            self._select_when_counted = True

    def set_filter(self, text: str) -> None:
        self.filter_text = text
        self.cursor = 0
        self.scroll_to(y=0, animate=False)
        self.reload()

    def row_at(self, index: int) -> RowDict | None:
        if not 0 <= index < self.total:
            return None
        row = self._cache.get(index)
        if row is None:
            self._fetch(index)
            row = self._cache.get(index)
        return row

    def _fetch(self, index: int) -> None:
        page = max(self.size.height, 10)
        start = max(index - page, 0)
        rows = self.source.window(start, page * 3, self.filter_text, self.sort, self.descending)
        if len(self._cache) > 5000:
            self._forget_rows()
        for offset, row in enumerate(rows):
            self._cache[start + offset] = row

    def _forget_rows(self) -> None:
        self._cache.clear()
        self._cells.clear()
        self._strips.clear()

    def _row_cells(self, index: int, row: RowDict) -> list[tuple[str, Style | None]]:
        """Each column's text and style for ``row`` (computed once while it is cached)."""
        cells = self._cells.get(index)
        if cells is None:
            cells = []
            for column in self.columns:
                if column.render is not None:
                    value, style = column.render(row)
                else:
                    value, style = str(row.get(column.key) or ""), ""
                cells.append((plain(value), Style.parse(style) if style else None))
            self._cells[index] = cells
        return cells

    @property
    def current(self) -> RowDict | None:
        return self.row_at(self.cursor)

    def refresh_current(self) -> None:
        """Repaint the current row after its dict was changed in place (without a reload,
        which could drop it from a filter the change no longer matches)."""
        self._cells.pop(self.cursor, None)
        self._strips.pop(self.cursor, None)
        self.refresh(self.region_of_cursor())

    # ------------------------------------------------------------------ rendering

    def on_show(self) -> None:
        if not self._counted:
            self.reload()

    def on_resize(self) -> None:
        self.virtual_size = Size(self.size.width, self.total + 1)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if not self.exact and new + 2 * self.size.height >= self.total:
            self.call_later(self.count_all)  # scrolled (wheel, scrollbar) near a capped end

    def _widths(self) -> list[int]:
        widths = [c.width for c in self.columns]
        spare = self.size.width - sum(widths) - len(widths)
        if spare > 0:
            widths[-1] += spare
        return widths

    def render_lines(self, crop: Region) -> list[Strip]:
        # ``rich_style`` walks every ancestor's styles: worked out once a repaint rather than
        # once a line, as a cursor move that scrolls repaints every line
        self._frame_styles = self._styles()
        try:
            return super().render_lines(crop)
        finally:
            self._frame_styles = None

    def _styles(self) -> tuple[Style, Style]:
        """The base style of a row, and of the cursor's row."""
        if self._frame_styles is not None:
            return self._frame_styles
        base = self.rich_style
        return base, base + self.get_component_rich_style("window-table--cursor")

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._header(width)
        index = self.scroll_offset.y + y - 1
        row = self.row_at(index)
        base, cursor_base = self._styles()
        if row is None:
            if index == 0 and self._counted and self.total == 0:
                empty = "  (no rows match the filter)" if self.filter_text else \
                    f"  {self.empty_text}"
                return Strip([Segment(set_cell_size(empty, width), Style(dim=True))], width)
            return Strip.blank(width, base)
        if index == self.cursor:
            base = cursor_base
        painted = self._strips.get(index)
        if painted is not None and painted[0] == base and painted[1] == width:
            return painted[2]
        segments: list[Segment] = []
        cells = self._row_cells(index, row)
        widths = self._widths()
        for (value, style), cell_width in zip(cells, widths, strict=True):
            segments.append(Segment(set_cell_size(value, cell_width),
                                    base + style if style else base))
            segments.append(Segment(" ", base))
        if sum(widths) + len(widths) == width:  # the columns fill the width exactly
            strip = Strip(segments, width)
        else:
            strip = Strip(segments).crop(0, width).extend_cell_length(width, base)
        self._strips[index] = (base, width, strip)
        return strip

    def _header(self, width: int) -> Strip:
        style = self.get_component_rich_style("window-table--header")
        segments = []
        for column, cell_width in zip(self.columns, self._widths(), strict=True):
            label = column.label
            if column.sort and column.sort == (self.sort or self._default_sort()):
                label += " ▼" if self.descending else " ▲"
            segments.append(Segment(set_cell_size(label, cell_width) + " ", style))
        return Strip(segments).crop(0, width).extend_cell_length(width, style)

    def _default_sort(self) -> str | None:
        return next((c.sort for c in self.columns if c.sort), None)

    # ------------------------------------------------------------------ cursor and keys

    def watch_cursor(self, old: int, new: int) -> None:
        if self._keep_visible():
            self.refresh()  # scrolled: every line moved
        else:
            # Only the rows the cursor left and reached change: repainting every visible
            # line would be most of a keystroke's cost. (Line y + 1 holds row y.)
            self.refresh_line(old + 1)
            self.refresh_line(new + 1)
        self._announce()

    def _keep_visible(self) -> bool:
        """Scroll the cursor's row into view; returns whether it scrolled."""
        body = max(self.size.height - 1, 1)
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False)
        elif self.cursor >= top + body:
            self.scroll_to(y=self.cursor - body + 1, animate=False)
        else:
            return False
        return True

    def _announce(self) -> None:
        self.post_message(self.Highlighted(self, self.current))

    def action_move(self, delta: int) -> None:
        if not self.exact and self.cursor + delta >= self.total - max(self.size.height, 1):
            self.count_all()
        if self.total:
            self.cursor = min(max(self.cursor + delta, 0), self.total - 1)

    def action_page(self, direction: int) -> None:
        self.action_move(direction * max(self.size.height - 2, 1))

    def action_jump(self, where: int) -> None:
        if where < 0:
            self.count_all()
        if self.total:
            self.cursor = self.total - 1 if where < 0 else 0

    def action_select(self) -> None:
        if self.current is not None:
            self.post_message(self.Selected(self, self.current))

    def action_cycle_sort(self) -> None:
        keys = [c.sort for c in self.columns if c.sort]
        if not keys:
            return
        now = self.sort or self._default_sort()
        self.sort = keys[(keys.index(now) + 1) % len(keys)] if now in keys else keys[0]
        self.descending = False
        self.reload()

    def action_flip_sort(self) -> None:
        self.descending = not self.descending
        self.reload()

    def on_click(self, event: Any) -> None:
        y = event.y
        if y == 0:
            x = 0
            for column, cell_width in zip(self.columns, self._widths(), strict=True):
                if x <= event.x < x + cell_width + 1 and column.sort:
                    if (self.sort or self._default_sort()) == column.sort:
                        self.descending = not self.descending
                    else:
                        self.sort, self.descending = column.sort, False
                    self.reload()
                    return
                x += cell_width + 1
            return
        index = self.scroll_offset.y + y - 1
        if 0 <= index < self.total:
            self.cursor = index

    def status_line(self, noun: str, note: str = "") -> str:
        """Count, filter, sort and cursor; ``note`` (the pane's) follows the count."""
        sort = self.sort or self._default_sort() or ""
        arrow = "▼" if self.descending else "▲"
        shown = f"{self.total:,}{'' if self.exact else '+'} {noun}"
        if self.filter_text:
            shown += f" matching {plain(self.filter_text, 30)!r}"
        if note:
            shown += f" · {note}"
        return f"{shown} · sort {sort} {arrow} · row {min(self.cursor + 1, self.total):,}"

    def region_of_cursor(self) -> Region:
        return Region(0, self.cursor + 1, self.size.width, 1)

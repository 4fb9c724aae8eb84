"""Tab contents built just after the first paint, so the tab the console opens on paints first."""

from __future__ import annotations

from collections.abc import Callable

from textual.message import Message
from textual.widget import Widget


class LazyPane(Widget):
    """Stands in for a hidden tab's content until the first refresh, then mounts
    ``make()`` in its place. Unlike Textual's ``Lazy`` (which takes a built widget), the widget
    is made, and its module imported, only then, not before the first paint."""

    DEFAULT_CSS = "LazyPane { display: none; }"

    class Built(Message):
        """The real content is mounted (the app focuses it if its tab is showing)."""

        def __init__(self, widget: Widget) -> None:
            super().__init__()
            self.widget = widget

    def __init__(self, make: Callable[[], Widget]) -> None:
        super().__init__()
        self._make = make

    def on_mount(self) -> None:
        self.call_after_refresh(self._swap)

    async def _swap(self) -> None:
        parent = self.parent
        if isinstance(parent, Widget):
            widget = self._make()
            await parent.mount(widget, after=self)
            await self.remove()
            parent.post_message(self.Built(widget))

"""The one way text from the API reaches the screen: literally, without secrets or escapes.

Textual reads a plain ``str`` as markup almost everywhere (``Static``, border titles, option
prompts, the palette's help line, toasts): ``ws [/] x`` raises MarkupError and ends the app,
``[@click=app.quit]`` in a name becomes a live action. So every value from the Console (names,
emails, ids, messages, log lines) passes ``plain`` (``ism_tui.redact.scrub``: no secrets, no
control characters; then one line) and reaches a widget as ``Content``/``Text`` built from it,
or as a toast with markup off (``toast``). Markup that is ours goes through
``Content.from_markup`` with the values as variables, which are never parsed.
"""

from __future__ import annotations

from typing import Any

from textual.app import App
from textual.content import Content
from textual.widget import Widget

from ism_tui.redact import scrub
from ism_tui.text import one_line

TOAST_CHARS = 600


def plain(value: object, limit: int | None = None) -> str:
    """``value`` as one line of display text: secrets and control characters removed, cut to
    ``limit`` characters (with an ellipsis)."""
    if value is None:
        return ""
    return one_line(scrub(value if isinstance(value, str) else str(value)), limit)


def literal(value: object, limit: int | None = None, style: str = "") -> Content:
    """``plain(value)`` as Content that no widget parses as markup."""
    text = plain(value, limit)
    return Content.styled(text, style) if style else Content(text)


def toast(node: App[Any] | Widget, message: object, **options: Any) -> None:
    """``node.notify`` with ``message`` shown as typed (``severity``, ``timeout`` pass through)."""
    node.notify(plain(message, TOAST_CHARS), markup=False, **options)

"""The commands' plain (non-JSON) output: what the Console sent, printed without escapes.

Names, emails and messages from the API reach a terminal here; an ESC, BEL or OSC sequence in
them would retitle the window, clear the screen or write the clipboard. ``echo`` strips control
characters (``ism_tui.text.clean``) from everything it prints, keeping newlines and tabs. JSON
output needs no such pass: ``json.dumps`` escapes control characters itself.
"""

from __future__ import annotations

import sys

from ism_tui.text import clean

# the one sequence ism-tui writes itself: back to the start of the line and erase it
_REDRAW = "\r\x1b[2K"


def echo(text: object = "", *, err: bool = False, end: str = "\n", redraw: bool = False,
         flush: bool = False) -> None:
    """``print(text)`` to stdout (stderr with ``err``) without control characters;
    ``redraw`` first erases the terminal's current line (progress lines)."""
    shown = str(text)
    shown = clean(shown, len(shown) + 1)
    print(_REDRAW + shown if redraw else shown, end=end, file=sys.stderr if err else sys.stdout,
          flush=flush)

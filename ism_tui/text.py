"""Sanitising untrusted text from the API.

Control characters (C0 except tab and newline, DEL, C1 0x80-0x9F, bidi overrides) are
removed where data enters
the cache and again in every export, so no ESC/OSC sequence from API data can reach a terminal
(title changes, screen clears, clipboard writes). Rich markup is *not* stripped here: it is
harmless text that screens render literally (``Text(value)`` / ``Content(value)``).
"""

from __future__ import annotations

import re

# C0/C1 controls, DEL, and bidi embedding/override/isolate marks (which can reorder what an
# operator reads, e.g. make "exe.pdf" display as "fdp.exe").
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A whole escape sequence first (so its parameters do not survive as text), then lone controls.
_ESCAPE_SEQ = re.compile(
    r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"  # OSC ... BEL/ST
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"  # DCS/SOS/PM/APC ... ST
    r"|\x1b\[[0-?]*[ -/]*[@-~]"  # CSI
    r"|\x1b[@-Z\\-_]"  # other 2-byte escapes
    r"|\x9b[0-?]*[ -/]*[@-~]"  # 8-bit CSI
)

MAX_FIELD_CHARS = 2000


def clean(value: str | None, limit: int = MAX_FIELD_CHARS) -> str:
    """Strip escape sequences and control characters; cap length (with an ellipsis)."""
    if not value:
        return value or ""
    if value.isprintable():
        text = value
    else:
        text = _CONTROL.sub("", _ESCAPE_SEQ.sub("", value))
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def one_line(value: str | None, width: int | None = None) -> str:
    """Single-line form for table cells: newlines and tabs become spaces, optional truncation."""
    text = clean(value).replace("\n", " ").replace("\t", " ")
    if width is not None and len(text) > width:
        text = text[: max(width - 1, 0)] + "…"
    return text

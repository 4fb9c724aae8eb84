"""Untrusted API text: nothing that can drive a terminal survives ``clean``."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ism_tui.text import MAX_FIELD_CHARS, clean, one_line

FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def test_osc_title_and_clipboard_sequences_are_removed_whole() -> None:
    hostile = "Acme\x1b]0;owned\x07 Corp\x1b]52;c;ZXZpbA==\x1b\\ \x1b[2J\x1b[31mred"
    assert clean(hostile) == "Acme Corp red"


def test_rich_markup_is_kept_as_text_for_literal_rendering() -> None:
    assert clean("[bold red]x[/]") == "[bold red]x[/]"


def test_bidi_override_cannot_reorder_a_name() -> None:
    assert clean("invoice\u202egnp.exe") == "invoicegnp.exe"


def test_wide_unicode_is_kept_and_long_text_is_capped() -> None:
    assert clean("東京チーム 👩‍💻") == "東京チーム 👩‍💻"
    capped = clean("x" * 5000)
    assert len(capped) == MAX_FIELD_CHARS and capped.endswith("…")


def test_one_line_flattens_newlines_and_truncates() -> None:
    assert one_line("a\nb\tc", width=4) == "a b…"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=200))
def test_no_control_or_escape_survives(value: str) -> None:
    out = clean(value)
    assert not FORBIDDEN.search(out)
    assert len(out) <= MAX_FIELD_CHARS

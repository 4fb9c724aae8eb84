"""The console's top line: profile, who the token is, and how fresh the cache is."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Static

from screens.literal import plain

ROLE_WORDS = {"platform_operator": "operator", "customer_admin": "admin",
              "customer_member": "member"}


def who_text(profile: str, me: object | None, read_only: bool) -> Text:
    """``ISM · demo · ops@ism.example (platform operator, all customers) · READ-ONLY``."""
    out = Text()
    out.append("ISM ", "bold")
    out.append(f"{plain(profile, 20)} · ", "dim")
    if me is None:
        out.append("who: unknown until the first sync", "yellow")
    else:
        role = ROLE_WORDS.get(getattr(me, "role", ""), plain(getattr(me, "role", ""), 20))
        scope = plain(getattr(me, "customer_name", None) or "all customers", 24)
        out.append(plain(getattr(me, "email", ""), 32))
        out.append(f" {role} · {scope}", "dim")
    if read_only:
        out.append(" · READ-ONLY", "bold yellow")
    return out


class StatusHeader(Horizontal):
    """Two cells: identity on the left, sync state on the right (never wraps)."""

    def compose(self) -> ComposeResult:
        yield Static("", id="header-who", markup=False)
        yield Static("", id="header-sync", markup=False)

    def show_who(self, text: Text) -> None:
        self.query_one("#header-who", Static).update(text)

    def show_sync(self, text: str, style: str = "") -> None:
        """A sync's progress changes this cell once a page: the screen is laid out again only
        when the cell's width changes, as a layout costs more than the rest of a repaint."""
        cell = self.query_one("#header-sync", Static)
        new = Text(text, style=style)
        cell.update(new, layout=new.cell_len != cell.content_size.width)

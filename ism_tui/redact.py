"""Removing secrets from text that ism-tui writes down (audit rows, messages, saved build logs).

The Console never sends invite links or tokens, but server messages and build output are
untrusted text: a stray invite URL, bearer token or ``token=`` parameter must not reach the
audit trail, a terminal message or an exported file. ``scrub`` also strips control characters
(``ism_tui.text.clean``), so its output is safe to print.
"""

from __future__ import annotations

import re

from ism_tui.text import clean

REMOVED = "[redacted]"
INVITE_LINK_REMOVED = "[invite link removed]"

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
_KEY_VALUE = re.compile(
    r"(?i)\b(api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|"
    r"session|cookie|set-cookie|authorization|invite[_-]?code|signature|sig)"
    r"(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,]+)"
)


def _url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    host_part, slash, path = rest.partition("/")
    if "invite" in path.lower() or "invitation" in path.lower():
        return INVITE_LINK_REMOVED
    host = host_part.rpartition("@")[2]  # drop user:password@
    path = re.split(r"[?#]", path, maxsplit=1)[0]  # drop query and fragment (tokens live there)
    return f"{scheme}://{host}{slash}{path}"


def _secrets(text: str) -> str:
    text = _URL.sub(_url, text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REMOVED}", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REMOVED}", text)


def scrub(value: str | None, limit: int | None = None) -> str:
    """``value`` without control characters, invite links, credentials in URLs, query strings,
    bearer tokens or ``secret=value`` pairs.

    Secrets are removed before and after control characters are stripped (an escape sequence
    can hide a keyword from the patterns), and only then is the text cut to ``limit``, so a
    cut never leaves the head of a secret behind."""
    if not value:
        return value or ""
    text = _secrets(clean(_secrets(value), len(value) + 1))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    elif limit is None:
        text = clean(text)
    return text

"""Removing secrets from text that ism-tui writes down: the one redaction choke point.

The Console never sends invite links or tokens, but server messages, error bodies and build
output are untrusted text: a stray invite URL, an echoed ``Authorization`` or ``Cookie`` header,
``user:pass@`` or a ``?token=`` query must not reach the terminal, a log, the cache or an
exported file. ``scrub`` removes them, and any text equal to a registered secret (the
configured token: ``register_secret``, called when settings or a client are made). It also
strips control characters (``ism_tui.text.clean``), so its output is safe to print.

Every ism-tui logger (``LOGGERS``) passes its records through ``scrub`` (``ScrubRecords``), so
a log line cannot carry a secret whichever handler writes it.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any
from urllib.parse import quote

from ism_tui.text import clean

REMOVED = "[redacted]"
INVITE_LINK_REMOVED = "[invite link removed]"
# Shorter values are not registered: replacing every 3-letter run of a message would garble it
# and protect nothing (no Console issues tokens that short).
MIN_SECRET_CHARS = 6

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s\"'<>]+")
# ``user:pass@host`` without a scheme (a proxy setting, a git remote pasted in a message)
_USERINFO = re.compile(r"(?<![\w/@:.-])(?!mailto:)[\w.%+~-]+:[^\s@/\"'<>]+@(?=[\w.-]+)")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}")
# Headers whose whole value is a secret (a cookie list runs on after ``;``)
_HEADER = re.compile(r"(?i)\b(proxy-authorization|authorization|set-cookie|cookie)"
                     r"(\"?\s*[:=]\s*)[^\r\n]*")
_KEY_VALUE = re.compile(
    r"(?i)\b(api[_-]?key|access[_-]?token|refresh[_-]?token|token|secret|password|passwd|"
    r"session[_-]?id|session|invite[_-]?code|signature|sig)"
    r"(\"?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s&;,]+)"
)

# Text none of the patterns can match holds none of these (in lower case): most text, which
# then skips them (scrub runs on every build log line and every message of a sync). Plain
# substring tests: a case-blind regex of the same words is several times slower.
_TRIGGERS = ("://", "@", "bearer", "basic", "authoriz", "cookie", "token", "secret", "passw",
             "session", "key", "invite", "sig")

_secrets_lock = threading.Lock()
_registered: tuple[str, ...] = ()


def register_secret(value: str | None) -> None:
    """From now on ``scrub`` removes ``value`` (and its URL-encoded form) wherever it appears."""
    global _registered
    if not value or len(value) < MIN_SECRET_CHARS:
        return
    forms = {value, quote(value, safe=""), quote(value)}
    with _secrets_lock:
        # Longest first, so a secret holding another is removed whole.
        _registered = tuple(sorted(set(_registered) | forms, key=len, reverse=True))


def _url(match: re.Match[str]) -> str:
    url = match.group(0)
    scheme, _, rest = url.partition("://")
    host_part, slash, path = rest.partition("/")
    if "invite" in path.lower() or "invitation" in path.lower():
        return INVITE_LINK_REMOVED
    host = host_part.rpartition("@")[2]  # drop user:password@
    host = re.split(r"[?#]", host, maxsplit=1)[0]
    path = re.split(r"[?#]", path, maxsplit=1)[0]  # drop query and fragment (tokens live there)
    return f"{scheme}://{host}{slash}{path}"


def bare_url(url: str) -> str:
    """A URL as it may be stored: scheme, host, port and path; no user, password, query or
    fragment (where session tokens travel)."""
    # str methods, not a regex: this runs for every app of every synced workspace
    if "?" in url:
        url = url[:url.index("?")]
    if "#" in url:
        url = url[:url.index("#")]
    if "@" not in url:
        return url
    scheme, sep, rest = url.partition("://")
    authority, slash, path = rest.partition("/")
    return f"{scheme}{sep}{authority.rpartition('@')[2]}{slash}{path}"


def _suspect(text: str) -> bool:
    low = text.lower()
    for trigger in _TRIGGERS:
        if trigger in low:
            return True
    for secret in _registered:
        if secret in text:
            return True
    return False


def _secrets(text: str) -> str:
    for secret in _registered:
        if secret in text:
            text = text.replace(secret, REMOVED)
    text = _URL.sub(_url, text)
    text = _USERINFO.sub("", text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{REMOVED}", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REMOVED}", text)
    return _KEY_VALUE.sub(lambda m: f"{m.group(1)}{m.group(2)}{REMOVED}", text)


def scrub(value: str | None, limit: int | None = None) -> str:
    """``value`` without control characters, invite links, credentials in URLs, query strings,
    bearer tokens, cookies, ``secret=value`` pairs or any registered secret.

    Secrets are removed before and after control characters are stripped (an escape sequence
    can hide a keyword from the patterns), and only then is the text cut to ``limit``, so a
    cut never leaves the head of a secret behind."""
    if not value:
        return value or ""
    text = _secrets(value) if _suspect(value) else value
    text = clean(text, len(text) + 1)
    if _suspect(text):
        text = _secrets(text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    elif limit is None:
        text = clean(text)
    return text


def scrub_values(value: Any, limit: int = 2000) -> Any:
    """``value`` with every string in it (in lists, tuples and dicts, keys too) scrubbed and
    cut to ``limit`` characters: what every export holds (``ism_tui.private_files``)."""
    if isinstance(value, str):
        return scrub(value, limit)
    if isinstance(value, list | tuple):
        return [scrub_values(v, limit) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k), 200): scrub_values(v, limit) for k, v in value.items()}
    return value


class ScrubRecords(logging.Filter):
    """Makes a log record's message (and its traceback) secret-free before any handler sees
    it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage(), 4000)
        record.args = None
        if record.exc_info:
            record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), 20_000)
            record.exc_info = None
        return True


# Every logger ism-tui writes to, and httpx's (it logs each request's URL at INFO). A filter on
# a logger sees only its own records, not its children's, so each is named.
LOGGERS = ("ism_tui", "ism_tui.api", "ism_tui.sync", "ism_tui.actions", "ism_tui.app", "httpx")
_FILTER = ScrubRecords()
for _name in LOGGERS:
    logging.getLogger(_name).addFilter(_FILTER)

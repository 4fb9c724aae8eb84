"""The Console's address as users paste it, made the API's base URL."""

from __future__ import annotations

from urllib.parse import urlsplit

API_PREFIX = "/api/v2"


def normalise_base_url(url: str) -> str:
    """The API base URL for a Console address: ``https://console.example.com`` (with or without
    a trailing slash) means ``https://console.example.com/api/v2``; a URL with a path is the API
    base as given (a Console served under a prefix)."""
    url = url.strip().rstrip("/")
    if urlsplit(url).path in ("", "/"):
        return url + API_PREFIX
    return url

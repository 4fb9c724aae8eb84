"""Launch URL check: can a browser outside the platform reach this URL?

Only the host is ever reported: path, query, fragment and userinfo may hold session tokens.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

INTERNAL_SUFFIXES = (".local", ".internal", ".cluster.local", ".svc", ".localdomain", ".lan",
                     ".intranet", ".corp", ".home.arpa", ".localhost")
USUAL_PORTS = {None, 443}


@dataclass(frozen=True)
class UrlVerdict:
    ok: bool
    host: str  # the host only (lower case), "" if none
    reason: str = ""


# https, then a host name of letters, digits and hyphens (no userinfo, port, address or
# escapes), then the end or a path, query or fragment: what nearly every workspace app URL
# looks like. For these ``urlsplit`` would find exactly this host and no port, so they skip it
# (a big recompute checks thousands of URLs).
_PLAIN_HTTPS = re.compile(r"https://([A-Za-z][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)\.?(?:[/?#]|$)",
                          re.IGNORECASE)


def check_launch_url(url: str | None) -> UrlVerdict:
    """``ok`` when the URL is https on a public host and usual port; else the reason."""
    if not url or not url.strip():
        return UrlVerdict(False, "", "no URL")
    plain = _PLAIN_HTTPS.match(url)
    if plain is not None and "\t" not in url and "\n" not in url and "\r" not in url:
        host = plain.group(1).lower()
        problem = _host_problem(host)
        return UrlVerdict(True, host) if not problem else UrlVerdict(False, host, problem)
    return _check_split(url)


def _check_split(url: str) -> UrlVerdict:
    """``check_launch_url`` through ``urlsplit``, for any URL."""
    if not url.strip():
        return UrlVerdict(False, "", "no URL")
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        port = parts.port
    except ValueError:
        return UrlVerdict(False, "", "not a valid URL")
    if not host:
        return UrlVerdict(False, "", "no host in the URL")
    problem = _host_problem(host)
    if problem:
        return UrlVerdict(False, host, problem)
    if parts.scheme != "https":
        return UrlVerdict(False, host, f"scheme {parts.scheme or 'none'!r} is not https")
    if port not in USUAL_PORTS:
        return UrlVerdict(False, host, f"unusual port {port}")
    return UrlVerdict(True, host)


_SUFFIXES_LONGEST_FIRST = tuple(sorted(INTERNAL_SUFFIXES, key=len, reverse=True))
_IP_START = frozenset("0123456789[:")


def _host_problem(host: str) -> str:
    ip = None
    if host[:1] in _IP_START or ":" in host:  # names skip the (raising) address parse
        try:
            ip = ipaddress.ip_address(host.strip("[]").split("%")[0])
        except ValueError:
            ip = None
    if ip is not None:
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        if ip.is_loopback:
            return "loopback address"
        if ip.is_link_local:
            return "link-local address"
        if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
            return "unique-local address"
        if ip.is_private or ip.is_reserved or ip.is_unspecified or ip.is_multicast:
            return "private address"
        if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
            return "carrier-grade NAT address"
        return ""
    if host == "localhost" or host.endswith(".localhost"):
        return "loopback name"
    if "." not in host:
        return "single-label host (not a public name)"
    if host.endswith(_SUFFIXES_LONGEST_FIRST):
        suffix = next(s for s in _SUFFIXES_LONGEST_FIRST if host.endswith(s))
        return f"internal name ({suffix})"
    return ""

"""Property-based checks: the launch URL verdict, and that planted secrets never reach an export."""

from __future__ import annotations

import ipaddress
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from ism_tui.triage.export import to_json, to_markdown
from ism_tui.triage.model import Blocker, Evidence
from ism_tui.triage.urls import check_launch_url

FAST = settings(max_examples=150, deadline=None)
label = st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9]", fullmatch=True)


@FAST
@given(st.ip_addresses(v=4).filter(lambda ip: ip.is_private or ip.is_loopback
                                   or ip.is_link_local), st.sampled_from(["http", "https"]))
def test_private_ipv4_is_never_ok(ip: ipaddress.IPv4Address, scheme: str) -> None:
    v = check_launch_url(f"{scheme}://{ip}/path?token=abc")
    assert not v.ok and v.host == str(ip)


@FAST
@given(st.ip_addresses(v=6, network="fc00::/7") | st.ip_addresses(v=6, network="fe80::/10")
       | st.just(ipaddress.IPv6Address("::1")))
def test_unique_local_link_local_and_loopback_ipv6_are_never_ok(ip: ipaddress.IPv6Address) -> None:
    assert not check_launch_url(f"https://[{ip}]/").ok


@FAST
@given(label, st.sampled_from([".local", ".internal", ".cluster.local", ".svc",
                               ".svc.cluster.local", ""]))
def test_internal_and_single_label_names_are_never_ok(name: str, suffix: str) -> None:
    v = check_launch_url(f"https://{name}{suffix}:443/x#frag")
    assert not v.ok and "#" not in v.host and "/" not in v.host


@FAST
@given(st.lists(label, min_size=2, max_size=4))
def test_public_https_names_are_ok_and_http_or_odd_ports_are_not(labels: list[str]) -> None:
    host = ".".join(labels) + ".example.com"
    assert check_launch_url(f"https://{host}/ide").ok
    assert not check_launch_url(f"http://{host}/ide").ok
    assert not check_launch_url(f"https://{host}:8443/ide").ok


URL_PIECES = ["https://", "HTTPS://", "http://", "ws.", "a", "Z", "0", "9", "-", ".", ".",
              "ism.example.com", "10.0.0.7", "[::1]", ":443", ":8080", "@", "user:pw@", "/",
              "?token=x", "#f", "%41", " ", "\t", "\n", "_", "localhost", ".local", "é", "\\"]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(URL_PIECES), max_size=9).map("".join))
def test_the_plain_https_shortcut_agrees_with_urlsplit(url: str) -> None:
    """Most launch URLs skip ``urlsplit``; for any URL that must not change the verdict."""
    from ism_tui.triage.urls import _check_split

    expected = _check_split(url) if url.strip() else check_launch_url(url)
    assert check_launch_url(url) == expected


SECRETS = ["Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.sig", "session=abcd1234efgh5678",
           "https://console.example.com/invite/acc-7f3a9?token=tok-SECRET",
           "https://user:hunter2pw@host.example.com/p?q=querysecret#fragsecret",
           "token=tok-SECRET-42", "cookie: sid=cookiesecret99"]
LEAKS = ["eyJhbGciOiJIUzI1NiJ9", "abcd1234efgh5678", "acc-7f3a9", "tok-SECRET", "hunter2pw",
         "querysecret", "fragsecret", "cookiesecret99"]


@FAST
@given(st.sampled_from(SECRETS), st.text(max_size=30),
       st.sampled_from(["summary", "subject_name", "customer_name", "evidence", "escalation"]))
def test_secrets_planted_in_any_field_never_reach_exports(secret: str, noise: str,
                                                           where: str) -> None:
    planted = f"{noise} {secret} {noise}"
    fields: dict[str, object] = {"customer": "Acme", "workspace": "ws"}
    evidence = [Evidence("f", "v", None)]
    kwargs = {"summary": "s", "subject_name": "n", "customer_name": "c"}
    if where == "escalation":
        fields["blocker_message"] = planted
        fields["last_log_lines"] = [planted]
    elif where == "evidence":
        evidence = [Evidence("workspace.error", planted, None)]
    else:
        kwargs[where] = planted
    b = Blocker(id="provisioning_failed:ws-1", case="provisioning_failed", severity=3,
                subject_type="workspace", subject_id="ws-1", customer_id="cus-1",
                evidence=evidence, escalation=fields, **kwargs)
    out = to_markdown([b]) + to_json([b])
    for leak in LEAKS:
        assert leak not in out
    json.loads(to_json([b]))

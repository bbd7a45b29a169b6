"""Webhooks' pure rules: the signature (and the receiver's check in docs/webhooks.md), the
backoff, which URLs a subscription may name."""

from __future__ import annotations

import ipaddress
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.webhooks.delivery import backoff_s
from service.webhooks.schemas import WebhookCreate
from service.webhooks.signing import signature, verify
from service.webhooks.targets import Guard, Target, networks, why_refused

DOC = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
BODY = b'{"id":"d1","event":"chat.closed","created_at":"2026-01-05T09:00:00Z","data":{}}'


def test_the_signature_is_an_hmac_over_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    mac = hmac.new(b"s3cret-s3cret-s3cret", b"1767603610." + BODY, hashlib.sha256)
    assert signature("s3cret-s3cret-s3cret", 1767603610, BODY) == "v1=" + mac.hexdigest()


def test_verify_refuses_another_secret_another_body_and_an_old_timestamp() -> None:
    sig = signature("secret-one-secret-one", 1000, BODY)
    assert verify("secret-one-secret-one", "1000", BODY, sig, now=1100)
    assert verify("secret-one-secret-one", "1000", BODY, f"v1=00, {sig}", now=1100)
    assert not verify("secret-two-secret-two", "1000", BODY, sig, now=1100)
    assert not verify("secret-one-secret-one", "1000", BODY + b" ", sig, now=1100)
    assert not verify("secret-one-secret-one", "1001", BODY, sig, now=1100)
    assert not verify("secret-one-secret-one", "1000", BODY, sig, now=1000 + 301)
    assert not verify("secret-one-secret-one", "x", BODY, sig, now=1100)
    assert not verify("secret-one-secret-one", "1000", BODY, "v1=é", now=1100)


def test_the_documented_receiver_check_accepts_what_the_server_signs() -> None:
    text = DOC.read_text(encoding="utf-8")
    [code] = re.findall(r"<!-- python: verify-webhook -->\n```python\n(.*?)```", text, re.S)
    scope: dict[str, Any] = {}
    exec(compile(code, str(DOC), "exec"), scope)
    verified = scope["verified"]
    now = int(time.time())
    headers = {
        "Kefu-Webhook-Timestamp": str(now),
        "Kefu-Webhook-Signature": signature("whsec_doc-secret-1234", now, BODY),
    }
    assert verified("whsec_doc-secret-1234", headers, BODY)
    assert not verified("whsec_other-secret-12", headers, BODY)
    assert not verified("whsec_doc-secret-1234", headers, BODY[:-1])
    stale = {**headers, "Kefu-Webhook-Timestamp": str(now - 3600)}
    assert not verified("whsec_doc-secret-1234", stale, BODY)


def test_the_backoff_doubles_from_its_base_up_to_its_cap() -> None:
    assert [backoff_s(n, 10, 3600) for n in range(1, 11)] == [
        10,
        20,
        40,
        80,
        160,
        320,
        640,
        1280,
        2560,
        3600,
    ]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com:70/",
        "javascript:alert(1)",
        "https:///no-host",
        "https://user:pw@example.com/x",
    ],
)
def test_only_http_urls_with_a_host_are_taken(url: str) -> None:
    with pytest.raises(ValidationError):
        WebhookCreate(url=url, events=["chat.opened"])


def test_an_http_or_https_url_is_taken() -> None:
    for url in ("http://10.0.0.5:8080/hook", "https://crm.example.com/kefu?x=1"):
        assert WebhookCreate(url=url, events=["chat.opened"]).url == url


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4 spelled inside IPv6
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12::1", "private"),
        ("169.254.169.254", "a metadata service"),
        ("fd00:ec2::254", "a metadata service"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "private"),
        ("100.64.0.1", "not public"),  # shared address space (CGNAT)
        ("93.184.215.14", None),
        ("2606:4700::1111", None),
    ],
)
def test_webhooks_post_to_public_addresses_only(address: str, reason: str | None) -> None:
    assert why_refused(ipaddress.ip_address(address)) == reason


def test_an_allowed_network_lets_its_addresses_through_and_no_other() -> None:
    guard = Guard(networks("127.0.0.0/8, 10.0.0.0/24"), timeout_s=1)
    assert guard.allows(ipaddress.ip_address("127.0.0.1")) is None
    assert guard.allows(ipaddress.ip_address("10.0.0.9")) is None
    assert guard.allows(ipaddress.ip_address("10.0.1.9")) == "private"


IPv4, IPv6 = ipaddress.IPv4Address, ipaddress.IPv6Address


def test_a_delivery_connects_to_the_checked_address_under_its_host_name() -> None:
    v4 = Target("https://hooks.example.com:8443/k?x=1", "hooks.example.com", IPv4("93.184.215.14"))
    assert v4.pinned_url() == "https://93.184.215.14:8443/k?x=1"
    assert v4.host_header == "hooks.example.com:8443"
    v6 = Target("http://hooks.example.com/k", "hooks.example.com", IPv6("2606:4700::1111"))
    assert (v6.pinned_url(), v6.host_header) == ("http://[2606:4700::1111]/k", "hooks.example.com")

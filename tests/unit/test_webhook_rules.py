"""Webhooks' pure rules: the signature (and the receiver's check in docs/webhooks.md), the
backoff, which URLs a subscription may name."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from service.webhooks.delivery import backoff_s
from service.webhooks.schemas import WebhookCreate
from service.webhooks.signing import signature, verify

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

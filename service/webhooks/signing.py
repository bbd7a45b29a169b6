"""The signature of a delivery: HMAC-SHA256 over ``timestamp.body`` (docs/webhooks.md)."""

from __future__ import annotations

import hashlib
import hmac

SCHEME = "v1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, header: str, now: int, tolerance_s: int = 300
) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent (no replay)."""
    if not timestamp.isdigit() or abs(now - int(timestamp)) > tolerance_s:
        return False
    expected = signature(secret, int(timestamp), body)
    return any(
        hmac.compare_digest(expected.encode(), given.strip().encode())
        for given in header.split(",")
        if given.strip().isascii()
    )

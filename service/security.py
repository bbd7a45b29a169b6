"""Secrets: opaque tokens stored only as hashes, and the game backend's player signature."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from service.errors import Forbidden, Unauthorized

# Unix seconds of 9999-12-31T23:59:59Z: the last moment a datetime can hold.
MAX_TS = 253402300799


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def resume_expired(closed_at: datetime | None, now: datetime, ttl_h: float) -> bool:
    """A chat's resume token stops working ``KEFU_RESUME_TTL_H`` after the chat closed (an open
    chat's never does): for the socket's resume and for the chat's files alike."""
    return closed_at is not None and now > closed_at + timedelta(hours=ttl_h)


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; only the hash is ever stored.
    return hashlib.sha256(token.encode()).hexdigest()


def player_payload(player_id: str, name: str | None, tier: str | None, ts: int) -> bytes:
    """The exact bytes the game backend signs: id, name, tier, ts joined by newlines."""
    return "\n".join((player_id, name or "", tier or "", str(ts))).encode()


def sign_player(secret: str, player_id: str, name: str | None, tier: str | None, ts: int) -> str:
    payload = player_payload(player_id, name, tier, ts)
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify_player(
    secret: str | None,
    *,
    player_id: str,
    name: str | None,
    tier: str | None,
    ts: int,
    sig: str,
    now: datetime,
    ttl_s: int,
) -> None:
    """A forged or garbled claim is Forbidden, whatever its bytes; nothing here may raise else."""
    if not secret:
        raise Unauthorized("player sign-in is not configured (KEFU_PLAYER_SECRET)")
    # Out of range, the ts could not have been signed recently, and the float maths overflows.
    if not 0 <= ts <= MAX_TS:
        raise Forbidden("player signature has expired")
    try:
        expected = sign_player(secret, player_id, name, tier, ts).encode()
        # Bytes, not str: compare_digest refuses a str with non-ASCII characters (TypeError).
        given = sig.lower().encode()
    except UnicodeEncodeError:  # a lone surrogate in a field
        raise Forbidden("player signature does not match") from None
    if not hmac.compare_digest(expected, given):
        raise Forbidden("player signature does not match")
    if abs(now.timestamp() - ts) > ttl_s:
        raise Forbidden("player signature has expired")


def address_key(address: str) -> str | None:
    """What is kept of a socket's address: a digest, enough to compare, not the address."""
    if not address:
        return None
    return hashlib.sha256(f"kefu.address:{address}".encode()).hexdigest()[:32]

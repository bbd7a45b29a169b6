"""Admin tokens: the bearer tokens of the admin HTTP API, stored only as hashes."""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import AdminToken
from service.security import hash_token, new_token

CONFIGURED = "KEFU_ADMIN_TOKEN"  # the name of the token given in the settings


async def create_admin_token(session: AsyncSession, name: str, now: datetime) -> str:
    token = new_token("kfadm")
    session.add(AdminToken(name=name, token_hash=hash_token(token), created_at=now))
    return token


async def has_admin_tokens(session: AsyncSession) -> bool:
    return (await session.scalar(select(AdminToken.id).limit(1))) is not None


async def admin_name(session: AsyncSession, token: str, configured: str | None) -> str | None:
    """Who holds this admin token (recorded as who changed what), or None if nobody."""
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return CONFIGURED
    name: str | None = await session.scalar(
        select(AdminToken.name).where(AdminToken.token_hash == hash_token(token))
    )
    return name

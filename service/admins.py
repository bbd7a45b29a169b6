"""Admin tokens: the bearer tokens of the admin HTTP API, stored only as hashes."""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import AdminToken
from service.security import hash_token, new_token


async def create_admin_token(session: AsyncSession, name: str, now: datetime) -> str:
    token = new_token("kfadm")
    session.add(AdminToken(name=name, token_hash=hash_token(token), created_at=now))
    return token


async def has_admin_tokens(session: AsyncSession) -> bool:
    return (await session.scalar(select(AdminToken.id).limit(1))) is not None


async def is_admin(session: AsyncSession, token: str, configured: str | None) -> bool:
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return True
    found = await session.scalar(
        select(AdminToken.id).where(AdminToken.token_hash == hash_token(token))
    )
    return found is not None

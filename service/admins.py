"""The first admin tokens (``serve`` on an empty database, ``create-admin-token``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.tokens import service as tokens
from service.tokens.service import CLI, CONFIGURED, has_admin_tokens

__all__ = ["CONFIGURED", "create_admin_token", "has_admin_tokens"]


async def create_admin_token(session: AsyncSession, name: str, now: datetime) -> str:
    row, token = await tokens.create(session, name, "admin", now, by=CLI.name)
    await audit.record(session, CLI, now, "token.create", row, None, audit.token_state(row))
    return token

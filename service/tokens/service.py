"""Bearer tokens of the HTTP API and the callers they stand for.

Three kinds of token sign in: ``KEFU_ADMIN_TOKEN`` (an admin), an admin or supervisor token
(``admin_tokens``, only its hash stored) and an agent's own console token, which gives the
role of the account (``agent`` or ``supervisor``).
"""

from __future__ import annotations

import enum
import hmac
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import AdminToken, Agent, AgentRole
from service.errors import InvalidState, NotFound
from service.security import hash_token, new_token

CONFIGURED = "KEFU_ADMIN_TOKEN"  # the name of the token given in the settings
PREFIX_CHARS = 12  # "kfsup_" and six characters of the secret: enough to tell tokens apart
SCHEMES = {"admin": "kfadm", "supervisor": "kfsup"}


class Role(enum.StrEnum):
    admin = "admin"
    supervisor = "supervisor"
    agent = "agent"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request: their role, the name histories and the audit log show, and the
    token row or agent account the bearer token belongs to."""

    role: Role
    name: str
    token_id: int | None = None
    agent_id: int | None = None


CLI = Caller(Role.admin, "cli")


async def caller_of(session: AsyncSession, token: str, configured: str | None) -> Caller | None:
    """Who holds this bearer token, or None if nobody (or a revoked or disabled holder)."""
    if configured and hmac.compare_digest(token.encode(), configured.encode()):
        return Caller(Role.admin, CONFIGURED)
    digest = hash_token(token)
    row = await session.scalar(
        select(AdminToken).where(AdminToken.token_hash == digest, AdminToken.revoked_at.is_(None))
    )
    if row is not None:
        return Caller(Role(row.role), row.name, token_id=row.id)
    agent = await session.scalar(
        select(Agent).where(Agent.token_hash == digest, Agent.active.is_(True))
    )
    if agent is not None:
        role = Role.supervisor if agent.role == AgentRole.supervisor else Role.agent
        return Caller(role, agent.name, agent_id=agent.id)
    return None


def _secret(role: str) -> tuple[str, str, str]:
    token = new_token(SCHEMES[role])
    return token, token[:PREFIX_CHARS], hash_token(token)


async def create(
    session: AsyncSession, name: str, role: str, now: datetime, by: str
) -> tuple[AdminToken, str]:
    token, prefix, digest = _secret(role)
    row = AdminToken(
        name=name, role=role, prefix=prefix, token_hash=digest, created_at=now, created_by=by
    )
    session.add(row)
    await session.flush()
    return row, token


async def get(session: AsyncSession, token_id: int) -> AdminToken:
    row = await session.get(AdminToken, token_id)
    if row is None:
        raise NotFound(f"no token {token_id}")
    return row


async def listed(session: AsyncSession, *, revoked: bool | None = None) -> list[AdminToken]:
    query = select(AdminToken).order_by(AdminToken.id)
    if revoked is not None:
        query = query.where(
            AdminToken.revoked_at.is_not(None) if revoked else AdminToken.revoked_at.is_(None)
        )
    return list((await session.scalars(query)).all())


async def rotate(session: AsyncSession, token_id: int, now: datetime) -> tuple[AdminToken, str]:
    """A new secret for the same holder; the old one stops working at once."""
    row = await get(session, token_id)
    if row.revoked_at is not None:
        raise InvalidState(f"token {token_id} is revoked")
    token, row.prefix, row.token_hash = _secret(row.role)
    row.rotated_at = now
    await session.flush()
    return row, token


async def revoke(session: AsyncSession, token_id: int, now: datetime, by: str) -> AdminToken:
    row = await get(session, token_id)
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by = now, by
        await session.flush()
    return row


async def has_admin_tokens(session: AsyncSession) -> bool:
    query = select(AdminToken.id).where(
        AdminToken.role == Role.admin, AdminToken.revoked_at.is_(None)
    )
    return (await session.scalar(query.limit(1))) is not None

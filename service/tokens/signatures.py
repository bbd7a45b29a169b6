"""The replay guard of player signatures: a signed claim opens one chat, once.

The game backend signs a claim for one widget; copied (from a log, a proxy, a shared link)
it would open more chats as that player until it expires. Each signature that opens a chat
is remembered, in the database so that every process sees it, until its TTL runs out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import UsedSignature
from service.errors import Forbidden
from service.security import hash_token


async def _forget_expired(session: AsyncSession, now: datetime, *, postgres: bool) -> None:
    """Expired ones are forgotten as we go (they fail the TTL check anyway): a few at a time,
    and on PostgreSQL only rows no other hello holds, so two never wait on each other."""
    expired = select(UsedSignature.sig_hash).where(UsedSignature.expires_at < now).limit(100)
    if postgres:
        expired = expired.with_for_update(skip_locked=True)
    await session.execute(delete(UsedSignature).where(UsedSignature.sig_hash.in_(expired)))


def expires_at(ts: int, ttl_s: int) -> datetime:
    """The last moment a signature made at ``ts`` is accepted (security.verify_player)."""
    return datetime.fromtimestamp(ts, UTC) + timedelta(seconds=ttl_s)


async def spend(
    session: AsyncSession, sig: str, ts: int, ttl_s: int, now: datetime, *, postgres: bool
) -> None:
    """Remember ``sig`` as used, or refuse it if another socket used it already.

    The insert is the check: two processes spending the same signature at once both try the
    same primary key, and only one inserts (the other waits for its commit, then sees it).
    """
    await _forget_expired(session, now, postgres=postgres)
    insert = pg_insert if postgres else sqlite_insert
    statement = (
        insert(UsedSignature)
        .values(sig_hash=hash_token(sig.lower()), expires_at=expires_at(ts, ttl_s))
        .on_conflict_do_nothing(index_elements=["sig_hash"])
    )
    result = await session.execute(statement)
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise Forbidden("player signature was already used; sign in again")

"""Socket counts (``Agent.connections``, ``Chat.customer_sockets``), changed in SQL only.

Two processes (or two sockets of one) may open and close at the same moment; a count read into
Python, changed and written back loses one of the two changes. Each change here is one
``UPDATE … SET n = n ± 1 … RETURNING n``: the database serialises them on the row, and the
value returned is the one this change produced. The loaded object is told that value as if it
had been read (``set_committed_value``), so later reads in the unit see it and nothing writes
it back.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from service.db.models import Agent, Chat


async def _step(session: AsyncSession, row: Agent | Chat, column: Any, by: int) -> int:
    model = type(row)
    value = column + 1 if by > 0 else case((column > 0, column - 1), else_=0)
    count = await session.scalar(
        update(model)
        .where(model.id == row.id)
        .values({column.key: value})
        .returning(column)
        .execution_options(synchronize_session=False)
    )
    assert count is not None, f"{model.__tablename__} {row.id} is gone"
    set_committed_value(row, column.key, count)
    return int(count)


async def agent_connected(session: AsyncSession, agent: Agent) -> int:
    """One more socket of this agent; the agent's count after it."""
    return await _step(session, agent, Agent.connections, +1)


async def agent_disconnected(session: AsyncSession, agent: Agent) -> int:
    """One socket of this agent fewer (never below 0); the count after it."""
    return await _step(session, agent, Agent.connections, -1)


async def customer_connected(session: AsyncSession, chat: Chat) -> int:
    return await _step(session, chat, Chat.customer_sockets, +1)


async def customer_disconnected(session: AsyncSession, chat: Chat) -> int:
    return await _step(session, chat, Chat.customer_sockets, -1)


async def set_agent_connections(session: AsyncSession, agent: Agent, count: int) -> None:
    """Start-up of the only process: what its predecessor held is set, not counted."""
    await session.execute(
        update(Agent)
        .where(Agent.id == agent.id)
        .values(connections=count)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(agent, "connections", count)


async def set_customer_sockets(session: AsyncSession, chat: Chat, count: int) -> None:
    await session.execute(
        update(Chat)
        .where(Chat.id == chat.id)
        .values(customer_sockets=count)
        .execution_options(synchronize_session=False)
    )
    set_committed_value(chat, "customer_sockets", count)

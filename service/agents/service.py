"""Agent accounts: creation (token returned once), sign-in by token, listing, changes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.agents.schemas import AgentCreate, AgentUpdate
from service.db.models import Agent, Chat, ChatStatus
from service.errors import Conflict, Forbidden, NotFound
from service.security import hash_token, new_token


async def create_agent(
    session: AsyncSession, data: AgentCreate, *, now: datetime, default_capacity: int
) -> tuple[Agent, str]:
    taken = await session.scalar(select(Agent.id).where(Agent.employee_no == data.employee_no))
    if taken is not None:
        raise Conflict(f"employee number {data.employee_no!r} is taken")
    token = new_token("kfa")
    agent = Agent(
        name=data.name,
        employee_no=data.employee_no,
        role=data.role,
        capacity=data.capacity or default_capacity,
        token_hash=hash_token(token),
        status="offline",
        connections=0,
        active=True,
        created_at=now,
    )
    session.add(agent)
    await session.flush()
    return agent, token


async def authenticate(session: AsyncSession, token: str) -> Agent:
    agent = await session.scalar(select(Agent).where(Agent.token_hash == hash_token(token)))
    if agent is None or not agent.active:
        raise Forbidden("unknown or disabled agent token")
    return agent


async def rotate_token(session: AsyncSession, agent_id: int) -> tuple[Agent, str]:
    agent = await get_agent(session, agent_id)
    token = new_token("kfa")
    agent.token_hash = hash_token(token)
    return agent, token


async def get_agent(session: AsyncSession, agent_id: int) -> Agent:
    agent = await session.get(Agent, agent_id)
    if agent is None:
        raise NotFound(f"no agent {agent_id}")
    return agent


async def update_agent(session: AsyncSession, agent_id: int, data: AgentUpdate) -> Agent:
    agent = await get_agent(session, agent_id)
    for name, value in data.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(agent, name, value)
    return agent


async def open_chat_counts(session: AsyncSession) -> dict[int, int]:
    rows = await session.execute(
        select(Chat.agent_id, func.count())
        .where(Chat.status == ChatStatus.assigned, Chat.agent_id.is_not(None))
        .group_by(Chat.agent_id)
    )
    return {agent_id: count for agent_id, count in rows if agent_id is not None}


async def list_agents(session: AsyncSession) -> list[tuple[Agent, int]]:
    counts = await open_chat_counts(session)
    agents = (await session.scalars(select(Agent).order_by(Agent.id))).all()
    return [(agent, counts.get(agent.id, 0)) for agent in agents]

"""Groups: create, rename, membership, and the lookups routing and transfers need."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Agent, AgentGroup, AgentStatus, Chat, Group, in_line
from service.db.unit_of_work import Work
from service.errors import Conflict, NotFound
from service.groups.schemas import GroupCreate, GroupOut, GroupUpdate


async def find(session: AsyncSession, name: str) -> Group | None:
    found: Group | None = await session.scalar(select(Group).where(Group.name == name))
    return found


async def get(session: AsyncSession, name: str) -> Group:
    group = await find(session, name)
    if group is None:
        raise NotFound(f"no group {name!r}")
    return group


async def create(work: Work, data: GroupCreate) -> GroupOut:
    if await find(work.session, data.name) is not None:
        raise Conflict(f"group {data.name!r} exists")
    group = Group(name=data.name, title=data.title or data.name, created_at=work.now)
    work.session.add(group)
    await work.session.flush()
    return await describe(work.session, group)


async def update(work: Work, name: str, data: GroupUpdate) -> GroupOut:
    group = await get(work.session, name)
    group.title = data.title
    await work.session.flush()
    return await describe(work.session, group)


async def add_member(work: Work, name: str, agent_id: int) -> GroupOut:
    group = await get(work.session, name)
    if await work.session.get(Agent, agent_id) is None:
        raise NotFound(f"no agent {agent_id}")
    if await work.session.get(AgentGroup, (agent_id, group.id)) is None:
        work.session.add(AgentGroup(agent_id=agent_id, group_id=group.id))
        await work.session.flush()
    return await describe(work.session, group)


async def remove_member(work: Work, name: str, agent_id: int) -> GroupOut:
    """The agent takes no new chats of the group; chats they hold stay with them."""
    group = await get(work.session, name)
    await work.session.execute(
        delete(AgentGroup).where(AgentGroup.group_id == group.id, AgentGroup.agent_id == agent_id)
    )
    return await describe(work.session, group)


async def describe(session: AsyncSession, group: Group) -> GroupOut:
    members = (
        await session.execute(
            select(Agent.id, Agent.status, Agent.connections, Agent.active)
            .join(AgentGroup, AgentGroup.agent_id == Agent.id)
            .where(AgentGroup.group_id == group.id)
            .order_by(Agent.id)
        )
    ).all()
    queued = await session.scalar(
        select(func.count()).select_from(Chat).where(Chat.group_id == group.id, in_line())
    )
    online = sum(
        1
        for _id, status, connections, active in members
        if status == AgentStatus.online and connections > 0 and active
    )
    return GroupOut(
        name=group.name,
        title=group.title,
        agents=[member[0] for member in members],
        online=online,
        queued=queued or 0,
        created_at=group.created_at,
    )


async def list_groups(session: AsyncSession) -> list[GroupOut]:
    groups = (await session.scalars(select(Group).order_by(Group.name))).all()
    return [await describe(session, group) for group in groups]

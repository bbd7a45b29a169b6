"""Routing: which online agent takes a chat, the FIFO queue, and the positions it announces.

A chat goes to the online, connected agent with free capacity and the fewest open chats; ties go
to the one idle longest (assigned least recently). A chat with a group goes only to that group's
agents, and never back to the agent who handed it off. Otherwise it waits: returned chats first
(higher priority), then in arrival order; positions are counted within the chat's group.
Callers run inside an exclusive unit of work; on PostgreSQL the chosen agent is also row-locked
and checked again, so two processes cannot overfill one agent.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from service.chats.frames import agent_card, chat_summary
from service.chats.store import frames_after
from service.db.models import (
    Agent,
    AgentGroup,
    AgentStatus,
    Chat,
    ChatStatus,
    Customer,
    in_line,
)
from service.unit import Work


def customer_address(chat_id: int) -> str:
    return f"customer:{chat_id}"


def agent_address(agent_id: int) -> str:
    return f"agent:{agent_id}"


def audience(chat: Chat) -> list[str]:
    """The chat's customer tabs and, when assigned, its agent."""
    to = [customer_address(chat.id)]
    if chat.agent_id is not None:
        to.append(agent_address(chat.agent_id))
    return to


async def pick_agent(
    work: Work,
    *,
    group_id: int | None = None,
    exclude_id: int | None = None,
    agent_id: int | None = None,
) -> Agent | None:
    """The agent to take a chat now (of ``group_id``, not ``exclude_id``, only ``agent_id``).

    One query ranks the eligible agents by open chats, then idle time. On PostgreSQL the
    chosen agent's row is then locked and their chats counted again: another process may have
    given them a chat since, and then the next agent is tried.
    """
    open_chats = (
        select(func.count())
        .where(Chat.agent_id == Agent.id, Chat.status == ChatStatus.assigned)
        .correlate(Agent)
        .scalar_subquery()
    )
    query = (
        select(Agent)
        .where(
            Agent.status == AgentStatus.online,
            Agent.connections > 0,
            Agent.active.is_(True),
            open_chats < Agent.capacity,
        )
        .order_by(open_chats, Agent.last_assigned_at.asc().nulls_first(), Agent.id)
        .limit(1)
    )
    if group_id is not None:
        members = select(AgentGroup.agent_id).where(AgentGroup.group_id == group_id)
        query = query.where(Agent.id.in_(members))
    if exclude_id is not None:
        query = query.where(Agent.id != exclude_id)
    if agent_id is not None:
        query = query.where(Agent.id == agent_id)
    tried: list[int] = []
    while True:
        agent = await work.session.scalar(query.where(Agent.id.not_in(tried)) if tried else query)
        if agent is None or not work.is_postgres:
            return agent
        # Locked, then asked again: the statement after the lock sees what others committed.
        await work.session.execute(select(Agent.id).where(Agent.id == agent.id).with_for_update())
        still = await work.session.scalar(
            query.where(Agent.id == agent.id).execution_options(populate_existing=True)
        )
        if still is not None:
            return still
        tried.append(agent.id)


def idle_key(agent: Agent) -> float:
    return agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")


def is_in_line(chat: Chat) -> bool:
    """Whether a queued chat waits for an agent (with route_on=message, from its first word)."""
    return chat.status == ChatStatus.queued and chat.queued_at is not None


async def queued_chats(work: Work) -> Sequence[Chat]:
    """The line, in order: queued chats that wait for an agent (not those yet to say a word)."""
    query = (
        select(Chat)
        .where(in_line())
        .order_by(Chat.priority.desc(), Chat.queued_at, Chat.id)
    )
    return (await work.session.scalars(query)).all()


async def line_length(work: Work, group_id: int | None) -> int:
    """How many chats wait in line for ``group_id`` (None: for any agent)."""
    query = select(func.count()).where(
        in_line(), Chat.group_id.is_(None) if group_id is None else Chat.group_id == group_id
    )
    return int(await work.session.scalar(query) or 0)


async def assign(work: Work, chat: Chat, agent: Agent) -> None:
    chat.status = ChatStatus.assigned
    chat.agent_id = agent.id
    chat.assigned_at = work.now
    chat.queue_position = None
    chat.handoff_from_id = None
    agent.last_assigned_at = work.now
    await work.assigned(chat)
    await work.session.flush()
    customer = await work.session.get_one(Customer, chat.customer_id)
    work.send(
        customer_address(chat.id),
        {"type": "assigned", "chat_id": chat.id, "agent": agent_card(agent)},
    )
    history = await frames_after(work.session, chat.id, 0, internal=True)
    work.send(
        agent_address(agent.id),
        {**chat_summary(chat, customer), "type": "assigned", "history": history},
    )


async def drain(work: Work) -> None:
    """Hand queued chats to free agents until one side runs out, then announce positions."""
    full: set[tuple[int | None, int | None]] = set()  # (group, excluded) found without a seat
    waiting: list[Chat] = []
    for chat in await queued_chats(work):
        wanted = (chat.group_id, chat.handoff_from_id)
        if wanted in full or (None, None) in full:
            waiting.append(chat)
            continue
        agent = await pick_agent(work, group_id=chat.group_id, exclude_id=chat.handoff_from_id)
        if agent is None:
            full.add(wanted)
            waiting.append(chat)
            continue
        await assign(work, chat, agent)
    await announce_positions(work, waiting)


async def announce_positions(work: Work, queued: Sequence[Chat] | None = None) -> None:
    """Tell every waiting customer whose place changed (and only them) where they stand.

    A place is counted among the chats waiting for the same group (or for no group); ``queued``
    is the queue in order when the caller has just read it.
    """
    ahead: dict[int | None, int] = {}
    for chat in await queued_chats(work) if queued is None else queued:
        position = ahead[chat.group_id] = ahead.get(chat.group_id, 0) + 1
        if chat.queue_position == position:
            continue
        chat.queue_position = position
        work.send(customer_address(chat.id), {"type": "queue", "position": position})


async def route(work: Work, chat: Chat) -> None:
    """Place a chat that is new or back in the queue."""
    chat.status = ChatStatus.queued
    chat.agent_id = None
    chat.queue_position = None
    chat.queued_since = work.now
    if chat.queued_at is None:
        chat.queued_at = work.now
    await work.session.flush()
    await drain(work)

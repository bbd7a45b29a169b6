"""Routing: which online agent takes a chat, the FIFO queue, and the positions it announces.

A chat goes to the online, connected agent with free capacity and the fewest open chats; ties go
to the one idle longest (assigned least recently). A chat with a group goes only to that group's
agents, and never back to the agent who handed it off. Otherwise it waits: returned chats first
(higher priority), then in arrival order; positions are counted within the chat's group.
Callers run inside an exclusive unit of work; on PostgreSQL the candidate agents are also
row-locked so two processes cannot overfill one agent.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from service.chats.frames import agent_card, chat_summary
from service.chats.store import frames_after
from service.db.models import Agent, AgentGroup, AgentStatus, Chat, ChatStatus, Customer
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
    """The agent to take a chat now (of ``group_id``, not ``exclude_id``, only ``agent_id``)."""
    eligible = select(Agent).where(
        Agent.status == AgentStatus.online, Agent.connections > 0, Agent.active.is_(True)
    )
    if group_id is not None:
        members = select(AgentGroup.agent_id).where(AgentGroup.group_id == group_id)
        eligible = eligible.where(Agent.id.in_(members))
    if exclude_id is not None:
        eligible = eligible.where(Agent.id != exclude_id)
    if agent_id is not None:
        eligible = eligible.where(Agent.id == agent_id)
    if work.is_postgres:
        eligible = eligible.with_for_update()
    agents = (await work.session.scalars(eligible)).all()
    if not agents:
        return None
    rows = await work.session.execute(
        select(Chat.agent_id, func.count())
        .where(
            Chat.status == ChatStatus.assigned,
            Chat.agent_id.in_([agent.id for agent in agents]),
        )
        .group_by(Chat.agent_id)
    )
    counts: dict[int | None, int] = {agent_id: count for agent_id, count in rows}
    free = [agent for agent in agents if counts.get(agent.id, 0) < agent.capacity]
    if not free:
        return None
    return min(free, key=lambda agent: (counts.get(agent.id, 0), idle_key(agent), agent.id))


def idle_key(agent: Agent) -> float:
    return agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")


async def queued_chats(work: Work) -> Sequence[Chat]:
    query = (
        select(Chat)
        .where(Chat.status == ChatStatus.queued)
        .order_by(Chat.priority.desc(), Chat.queued_at, Chat.id)
    )
    return (await work.session.scalars(query)).all()


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
    for chat in await queued_chats(work):
        wanted = (chat.group_id, chat.handoff_from_id)
        if wanted in full or (None, None) in full:
            continue
        agent = await pick_agent(work, group_id=chat.group_id, exclude_id=chat.handoff_from_id)
        if agent is None:
            full.add(wanted)
            continue
        await assign(work, chat, agent)
    await announce_positions(work)


async def announce_positions(work: Work) -> None:
    """Tell every waiting customer whose place changed (and only them) where they stand.

    A place is counted among the chats waiting for the same group (or for no group).
    """
    ahead: dict[int | None, int] = {}
    for chat in await queued_chats(work):
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

"""Reading the chain of owners (S-first-responder): a chat's owners, a complaint's owners (from
its history, service/complaints/), and the chats dropped per agent. The events are written by
service/chats/rows.py with each change of a chat's owner."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.complaints.models import Complaint, ComplaintEvent
from service.db.models import Agent
from service.owners.models import OwnerEvent
from service.owners.rules import HANDED_ON, RECORDED, Change, chain
from service.owners.schemas import AgentDrops, OwnerSpan


async def chat_owners(session: AsyncSession, chat_id: int) -> list[OwnerSpan]:
    rows = await session.scalars(
        select(OwnerEvent).where(OwnerEvent.chat_id == chat_id).order_by(OwnerEvent.id)
    )
    changes = [Change(e.at, e.from_agent_id, e.to_agent_id, e.why) for e in rows]
    spans = [OwnerSpan.model_validate(span, from_attributes=True) for span in chain(changes)]
    return await named(session, spans)


async def named(session: AsyncSession, spans: list[OwnerSpan]) -> list[OwnerSpan]:
    """The spans with each owner's name and employee number (one query for all of them)."""
    ids = {span.agent_id for span in spans}
    if not ids:
        return spans
    rows = await session.execute(
        select(Agent.id, Agent.name, Agent.employee_no).where(Agent.id.in_(ids))
    )
    names = {row.id: {"name": row.name, "employee_no": row.employee_no} for row in rows}
    return [span.model_copy(update=names.get(span.agent_id, {})) for span in spans]


def complaint_owners(complaint: Complaint, events: Iterable[ComplaintEvent]) -> list[OwnerSpan]:
    """A complaint's owners from its own history. Its holder is its owner, or without one the
    agent who recorded it (as the shift handover counts it); each ``owner`` line of the history
    (service/complaints/ writes one with every change) passes it on, the actor as the how:
    ``admin``, ``agent:<id>``, ``shift:<name>``."""
    changes = []
    if complaint.agent_id is not None:
        changes.append(Change(complaint.created_at, None, complaint.agent_id, RECORDED))
    for e in events:
        if e.action == "owner":
            to = _agent(e.to_value) or complaint.agent_id
            changes.append(Change(e.at, None, to, e.actor))
    return [OwnerSpan.model_validate(span, from_attributes=True) for span in chain(changes)]


def _agent(value: str | None) -> int | None:
    return int(value) if value else None


async def drops_per_agent(
    session: AsyncSession,
    since: datetime | None,
    until: datetime | None,
    agent_id: int | None = None,
) -> list[AgentDrops]:
    """Chats taken from each agent for a reason that is not a handover or a close."""
    query = (
        select(OwnerEvent.from_agent_id, OwnerEvent.why, func.count())
        .where(OwnerEvent.from_agent_id.is_not(None), OwnerEvent.why.not_in(HANDED_ON))
        .group_by(OwnerEvent.from_agent_id, OwnerEvent.why)
    )
    if since is not None:
        query = query.where(OwnerEvent.at >= since)
    if until is not None:
        query = query.where(OwnerEvent.at < until)
    if agent_id is not None:
        query = query.where(OwnerEvent.from_agent_id == agent_id)
    reasons: dict[int, dict[str, int]] = {}
    for from_id, why, count in await session.execute(query):
        if from_id is not None:
            reasons.setdefault(from_id, {})[why] = count
    agents = await session.scalars(select(Agent).where(Agent.id.in_(reasons)))
    items = [
        AgentDrops(
            agent_id=agent.id,
            name=agent.name,
            employee_no=agent.employee_no,
            dropped=sum(reasons[agent.id].values()),
            reasons=dict(sorted(reasons[agent.id].items())),
        )
        for agent in agents
    ]
    return sorted(items, key=lambda item: (-item.dropped, item.agent_id))

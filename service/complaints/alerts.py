"""The ``complaint`` frames and who gets them: the agent of the chat, and online supervisors."""

from __future__ import annotations

from sqlalchemy import select

from service.chats.routing import agent_address
from service.complaints.models import ComplaintBatch
from service.complaints.schemas import ComplaintOut
from service.db.models import Agent, AgentRole
from service.db.unit_of_work import Work
from service.realtime import events


async def supervisors(work: Work) -> list[str]:
    """Addresses of supervisors with a socket open now, whatever their status (S-no-unattended)."""
    ids = await work.session.scalars(
        select(Agent.id)
        .where(Agent.role == AgentRole.supervisor, Agent.connections > 0, Agent.active.is_(True))
        .order_by(Agent.id)
    )
    return [agent_address(agent_id) for agent_id in ids]


def complaint_frame(event: str, card: ComplaintOut) -> events.ComplaintEvent:
    return events.ComplaintEvent(event, card.model_dump(mode="json", by_alias=True))


def batch_frame(batch: ComplaintBatch, complaint_ids: list[int]) -> events.BatchFormed:
    return events.BatchFormed(
        {
            "id": batch.id,
            "topic": batch.topic,
            "started_at": batch.started_at.isoformat().replace("+00:00", "Z"),
            "customers": batch.customers,
            "vip_customers": batch.vip_customers,
            "complaint_ids": complaint_ids,
        }
    )

"""The taboo-phrase report (S-forbidden-phrases): hits per agent and phrase, from the stored
hits (service/chats/conduct.py records one per screened message)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import Agent, PhraseHit


class PhraseCount(BaseModel):
    phrase: str
    count: int


class AgentPhraseHits(BaseModel):
    agent_id: int
    name: str
    employee_no: str
    blocked: int = Field(description="messages refused (KEFU_FORBIDDEN_MODE=block)")
    warned: int = Field(description="messages sent with the hit recorded (warn)")
    phrases: list[PhraseCount] = Field(description="most used first")


class PhraseHitReport(BaseModel):
    since: datetime | None
    until: datetime | None
    items: list[AgentPhraseHits]


@dataclass(frozen=True)
class PhraseTally:
    phrase: str
    total: int
    blocked: int


async def hits_per_agent(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[tuple[Agent, list[PhraseTally]]]:
    """Taboo-phrase hits per agent and phrase; agents with the most hits first."""
    query = select(
        PhraseHit.agent_id,
        PhraseHit.phrase,
        func.count(),
        func.sum(case((PhraseHit.blocked.is_(True), 1), else_=0)),
    ).group_by(PhraseHit.agent_id, PhraseHit.phrase)
    if since is not None:
        query = query.where(PhraseHit.created_at >= since)
    if until is not None:
        query = query.where(PhraseHit.created_at < until)
    counts: dict[int, list[PhraseTally]] = {}
    for agent_id, phrase, total, blocked in await session.execute(query):
        counts.setdefault(agent_id, []).append(PhraseTally(phrase, total, int(blocked or 0)))
    agents = await session.scalars(select(Agent).where(Agent.id.in_(counts)))
    rows = [
        (agent, sorted(counts[agent.id], key=lambda count: (-count.total, count.phrase)))
        for agent in agents
    ]
    return sorted(rows, key=lambda row: (-sum(c.total for c in row[1]), row[0].id))

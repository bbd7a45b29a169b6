"""/api/v1/reports/forbidden-phrases: how agents keep the service standard in what they write."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import AwareDatetime, BaseModel, Field

from service.api.auth import RuntimeDep
from service.api.roles import AccessDep
from service.chats.conduct import hits_per_agent

router = APIRouter(prefix="/reports", tags=["reports"])


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


@router.get("/forbidden-phrases", response_model=PhraseHitReport)
async def forbidden_phrases(
    runtime: RuntimeDep,
    access: AccessDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> PhraseHitReport:
    """S-forbidden-phrases: taboo-phrase hits per agent, agents with the most first (an
    agent's token: their own line only)."""
    async with runtime.units.read() as session:
        rows = await hits_per_agent(session, since, until)
    if access.only_agent is not None:
        rows = [(agent, counts) for agent, counts in rows if agent.id == access.only_agent]
    items = [
        AgentPhraseHits(
            agent_id=agent.id,
            name=agent.name,
            employee_no=agent.employee_no,
            blocked=sum(count.blocked for count in counts),
            warned=sum(count.total - count.blocked for count in counts),
            phrases=[PhraseCount(phrase=count.phrase, count=count.total) for count in counts],
        )
        for agent, counts in rows
    ]
    return PhraseHitReport(since=since, until=until, items=items)

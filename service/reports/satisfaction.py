"""The satisfaction report (S-satisfaction): scores per agent and overall, with percentiles.

Scores are whole numbers 0–10, so the database returns a histogram (agent, score, count) and the
percentiles are exact (nearest rank) whatever the number of ratings.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.complaints.models import Rating
from service.complaints.workflow import Band, band
from service.db.models import Agent


class SatisfactionSummary(BaseModel):
    ratings: int
    mean: float | None
    p10: int | None = Field(description="nearest-rank percentiles of the scores")
    p50: int | None
    p90: int | None
    unsatisfied: int = Field(description="scores 0-4")
    average: int = Field(description="scores 5-7")
    satisfied: int = Field(description="scores 8-10")
    satisfied_share: float | None
    unsatisfied_share: float | None


class AgentSatisfaction(SatisfactionSummary):
    agent_id: int
    name: str
    employee_no: str


class SatisfactionReport(BaseModel):
    since: datetime | None
    until: datetime | None
    overall: SatisfactionSummary
    agents: list[AgentSatisfaction]


def percentile(histogram: Counter[int], q: float) -> int | None:
    total = sum(histogram.values())
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for score in sorted(histogram):
        seen += histogram[score]
        if seen >= rank:
            return score
    raise AssertionError("unreachable: the ranks add up to the total")


def summarize(histogram: Counter[int]) -> SatisfactionSummary:
    total = sum(histogram.values())
    bands: Counter[Band] = Counter()
    for score, count in histogram.items():
        bands[band(score)] += count
    mean = sum(score * count for score, count in histogram.items()) / total if total else None
    return SatisfactionSummary(
        ratings=total,
        mean=round(mean, 2) if mean is not None else None,
        p10=percentile(histogram, 0.10),
        p50=percentile(histogram, 0.50),
        p90=percentile(histogram, 0.90),
        unsatisfied=bands[Band.unsatisfied],
        average=bands[Band.average],
        satisfied=bands[Band.satisfied],
        satisfied_share=round(bands[Band.satisfied] / total, 4) if total else None,
        unsatisfied_share=round(bands[Band.unsatisfied] / total, 4) if total else None,
    )


async def satisfaction(
    session: AsyncSession,
    since: datetime | None = None,
    until: datetime | None = None,
    agent_id: int | None = None,
) -> SatisfactionReport:
    query = select(Rating.agent_id, Rating.score, func.count()).group_by(
        Rating.agent_id, Rating.score
    )
    if since is not None:
        query = query.where(Rating.created_at >= since)
    if until is not None:
        query = query.where(Rating.created_at < until)
    if agent_id is not None:
        query = query.where(Rating.agent_id == agent_id)
    overall: Counter[int] = Counter()
    per_agent: defaultdict[int, Counter[int]] = defaultdict(Counter)
    for rated_agent, score, count in await session.execute(query):
        overall[score] += count
        if rated_agent is not None:
            per_agent[rated_agent][score] += count
    agents = (
        await session.scalars(select(Agent).where(Agent.id.in_(per_agent)).order_by(Agent.id))
    ).all()
    return SatisfactionReport(
        since=since,
        until=until,
        overall=summarize(overall),
        agents=[
            AgentSatisfaction(
                **summarize(per_agent[agent.id]).model_dump(),
                agent_id=agent.id,
                name=agent.name,
                employee_no=agent.employee_no,
            )
            for agent in agents
        ],
    )

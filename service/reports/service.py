"""The report queries: reply timing from the stored replies and timing events, the live queue.

Nothing is recomputed from transcripts: every reply stored its wait when it was sent
(chats/timing.py), so a report is a handful of aggregate queries over an indexed time range.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats.timing import ACCEPT_TIMEOUT, APOLOGIES
from service.db.models import Agent, AgentStatus, Chat, ChatStatus, Reply, TimingEvent, in_line
from service.errors import InvalidRange, NotFound
from service.reports import schemas
from service.reports.spread import OVERALL, Column, Spread, spreads


def seconds(ms: float | None) -> float | None:
    return None if ms is None else round(ms / 1000, 3)


def spread_out(spread: Spread | None) -> schemas.Spread:
    if spread is None:
        return schemas.Spread(avg=None, p50=None, p90=None, p99=None)
    p = {f"p{k}": seconds(v) for k, v in spread.percentiles.items()}
    return schemas.Spread(avg=seconds(spread.avg), **p)


async def reply_times(
    session: AsyncSession,
    *,
    start: datetime,
    end: datetime,
    agent_id: int | None,
    max_wait_s: float,
    is_postgres: bool,
) -> schemas.ReplyTimeReport:
    if start >= end:
        raise InvalidRange("'from' must be before 'to'")
    if agent_id is not None and await session.get(Agent, agent_id) is None:
        raise NotFound(f"no agent {agent_id}")
    replies: list[ColumnElement[bool]] = [Reply.at >= start, Reply.at < end]
    events: list[ColumnElement[bool]] = [TimingEvent.at >= start, TimingEvent.at < end]
    if agent_id is not None:
        replies.append(Reply.agent_id == agent_id)
        events.append(TimingEvent.agent_id == agent_id)

    counts: dict[Any, tuple[int, int, int]] = {}
    waits: dict[Any, Spread] = {}
    firsts: dict[Any, Spread] = {}
    groups: tuple[Column | None, ...] = (Reply.agent_id, OVERALL)
    for group in groups:
        counts.update(await _counts(session, replies, group, round(max_wait_s * 1000)))
        waits.update(await spreads(session, Reply.wait_ms, replies, group, is_postgres=is_postgres))
        firsts.update(
            await spreads(session, Reply.first_response_ms, replies, group, is_postgres=is_postgres)
        )
    apologies, reassignments = await _events(session, events)

    def times(key: Any) -> dict[str, Any]:
        chats, replied, breaches = counts.get(key, (0, 0, 0))
        return {
            "chats": chats,
            "replies": replied,
            "first_response_s": spread_out(firsts.get(key)),
            "reply_wait_s": spread_out(waits.get(key)),
            "breaches": breaches,
            "apologies": apologies[key],
            "reassignments": reassignments[key],
        }

    ids = {key for key in (*counts, *apologies, *reassignments) if key is not OVERALL}
    if agent_id is not None:
        ids.add(agent_id)
    agents = (await session.scalars(select(Agent).where(Agent.id.in_(ids)))).all()
    return schemas.ReplyTimeReport(
        from_=start,
        to=end,
        agent_id=agent_id,
        max_wait_s=max_wait_s,
        overall=schemas.ReplyTimes(**times(OVERALL)),
        agents=[
            schemas.AgentReplyTimes(
                agent_id=agent.id, name=agent.name, employee_no=agent.employee_no, **times(agent.id)
            )
            for agent in sorted(agents, key=lambda agent: agent.id)
        ],
    )


async def _counts(
    session: AsyncSession,
    where: list[ColumnElement[bool]],
    group: Column | None,
    max_wait_ms: int,
) -> dict[Any, tuple[int, int, int]]:
    """Per group: chats answered, replies, and replies later than S-max-wait allows."""
    columns = (
        func.count(distinct(Reply.chat_id)),
        func.count(),
        func.coalesce(func.sum(case((Reply.wait_ms > max_wait_ms, 1), else_=0)), 0),
    )
    if group is None:
        row = (await session.execute(select(*columns).where(*where))).one()
        return {OVERALL: (row[0], row[1], row[2])}
    rows = await session.execute(select(group, *columns).where(*where).group_by(group))
    return {key: (chats, replies, late) for key, chats, replies, late in rows}


async def _events(
    session: AsyncSession, where: list[ColumnElement[bool]]
) -> tuple[Counter[Any], Counter[Any]]:
    """Apologies and silent-agent reassignments, per agent and (key ``OVERALL``) in all."""
    rows = await session.execute(
        select(TimingEvent.agent_id, TimingEvent.kind, func.count())
        .where(*where)
        .group_by(TimingEvent.agent_id, TimingEvent.kind)
    )
    apologies: Counter[Any] = Counter()
    reassignments: Counter[Any] = Counter()
    for agent_id, kind, count in rows:
        tally = (
            apologies if kind in APOLOGIES else reassignments if kind == ACCEPT_TIMEOUT else None
        )
        if tally is None:
            continue
        tally[OVERALL] += count
        if agent_id is not None:
            tally[agent_id] += count
    return apologies, reassignments


async def queue(session: AsyncSession, now: datetime) -> schemas.QueueReport:
    """The queue as it stands: how many wait for an agent, and who has waited longest."""
    length = await session.scalar(select(func.count()).select_from(Chat).where(in_line()))
    oldest = (
        await session.execute(
            select(Chat.id, Chat.queued_since)
            .where(in_line())
            .order_by(Chat.queued_since, Chat.id)
            .limit(1)
        )
    ).first()
    unanswered = (
        await session.execute(
            select(func.count(), func.min(Chat.waiting_since)).where(
                Chat.status != ChatStatus.closed, Chat.waiting_since.is_not(None)
            )
        )
    ).one()
    per_agent = (
        await session.execute(
            select(Chat.agent_id, func.count(), func.min(Chat.waiting_since))
            .where(
                Chat.status == ChatStatus.assigned,
                Chat.waiting_since.is_not(None),
                Chat.agent_id.is_not(None),
            )
            .group_by(Chat.agent_id)
        )
    ).all()
    online = await session.scalar(
        select(func.count())
        .select_from(Agent)
        .where(Agent.status == AgentStatus.online, Agent.connections > 0, Agent.active.is_(True))
    )

    def since(moment: datetime | None) -> float | None:
        return None if moment is None else round(max(timedelta(0), now - moment).total_seconds(), 3)

    return schemas.QueueReport(
        at=now,
        length=length or 0,
        longest_wait_s=since(oldest.queued_since) if oldest else None,
        longest_chat_id=oldest.id if oldest else None,
        waiting_for_reply=unanswered[0],
        longest_reply_wait_s=since(unanswered[1]),
        agents_online=online or 0,
        agents=sorted(
            (
                schemas.AgentWait(
                    agent_id=agent_id,
                    waiting_for_reply=count,
                    longest_reply_wait_s=since(since_) or 0.0,
                )
                for agent_id, count, since_ in per_agent
            ),
            key=lambda wait: (-wait.longest_reply_wait_s, wait.agent_id),
        ),
    )

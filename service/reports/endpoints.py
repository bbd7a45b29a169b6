"""/api/v1/reports: every report of the desk, one router.

Reply timing per agent and overall and the live queue (JSON or CSV), satisfaction
(S-satisfaction), taboo-phrase hits (S-forbidden-phrases) and chats dropped per agent
(S-first-responder). An agent reads only their own (service/api/roles.py).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime

from service.api.auth import RuntimeDep
from service.api.roles import AccessDep
from service.owners.schemas import DropReport
from service.owners.service import drops_per_agent
from service.realtime.protocol import MAX_ID, RowId
from service.reports import export, schemas, service
from service.reports.conduct import AgentPhraseHits, PhraseCount, PhraseHitReport, hits_per_agent
from service.reports.satisfaction import SatisfactionReport, satisfaction

router = APIRouter(prefix="/reports", tags=["reports"])

Format = Annotated[Literal["json", "csv"] | None, Query(description="or send Accept: text/csv")]
CSV = "text/csv; charset=utf-8"
DEFAULT_SPAN = timedelta(days=1)


def wants_csv(request: Request, format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    return "text/csv" in request.headers.get("accept", "")


def utc(moment: datetime | None) -> datetime | None:
    """Times without a zone are read as UTC."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def next_second(moment: datetime) -> datetime:
    """The default end of a range: everything stored so far, as a whole second."""
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def csv_response(body: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}.csv"'}
    return Response(body, media_type=CSV, headers=headers)


@router.get(
    "/reply-times",
    response_model=schemas.ReplyTimeReport,
    responses={200: {"content": {"text/csv": {}}}},
)
async def reply_times(
    request: Request,
    runtime: RuntimeDep,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    agent_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    format: Format = None,
    *,
    access: AccessDep,
) -> schemas.ReplyTimeReport | Response:
    """Reply timing from ``from`` (inclusive) to ``to`` (exclusive); default: the last day.

    An agent's token gets the agent's own report, whatever ``agent_id`` says."""
    if access.only_agent is not None:
        agent_id = access.only_agent
    until = utc(end) or next_second(runtime.clock.now())
    since = utc(start) or until - DEFAULT_SPAN
    async with runtime.units.read() as session:
        report = await service.reply_times(
            session,
            start=since,
            end=until,
            agent_id=agent_id,
            max_wait_s=runtime.settings.long_wait_s,
            is_postgres=runtime.database.is_postgres,
        )
    if wants_csv(request, format):
        return csv_response(export.reply_times(report), "reply-times")
    return report


@router.get(
    "/queue", response_model=schemas.QueueReport, responses={200: {"content": {"text/csv": {}}}}
)
async def queue(
    request: Request, runtime: RuntimeDep, format: Format = None
) -> schemas.QueueReport | Response:
    async with runtime.units.read() as session:
        report = await service.queue(session, runtime.clock.now())
    if wants_csv(request, format):
        return csv_response(export.queue(report), "queue")
    return report


@router.get("/satisfaction", response_model=SatisfactionReport)
async def satisfaction_report(
    runtime: RuntimeDep,
    since: Annotated[AwareDatetime | None, Query(description="rated at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="rated before")] = None,
    agent_id: Annotated[RowId | None, Query()] = None,
    *,
    access: AccessDep,
) -> SatisfactionReport:
    """S-satisfaction: scores per agent and overall."""
    if access.only_agent is not None:
        agent_id = access.only_agent  # an agent's own report, whatever they asked for
    async with runtime.units.read() as session:
        return await satisfaction(session, since, until, agent_id)


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


@router.get("/drops", response_model=DropReport)
async def drops(
    runtime: RuntimeDep,
    access: AccessDep,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> DropReport:
    """S-first-responder: chats taken from each agent other than by a handover or a close
    (accept timeout, offline, gone, signed out), agents with the most first (an agent's token:
    their own line only)."""
    async with runtime.units.read() as session:
        items = await drops_per_agent(session, utc(since), utc(until), access.only_agent)
    return DropReport(since=since, until=until, items=items)

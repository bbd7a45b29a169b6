"""/api/v1/reports: reply timing per agent and overall, and the live queue; JSON or CSV."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from service.api.auth import RuntimeDep
from service.api.roles import AccessDep
from service.realtime.protocol import MAX_ID
from service.reports import export, schemas, service

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

"""Admin HTTP routes of the notification table.

Thin: parse, call the service in a unit of work, answer with the row as it now stands.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import select

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.api.roles import ClearPiiDep
from service.complaints import export, queries
from service.complaints.models import Complaint, ComplaintReason
from service.complaints.queries import SORT_KEYS, Filters
from service.complaints.schemas import (
    ComplaintDetail,
    ComplaintFilterQuery,
    ComplaintListQuery,
    ComplaintPage,
    ComplaintUpdate,
    FollowUpIn,
    WorkflowOut,
)
from service.complaints.workflow import (
    MOVES,
    STAFF_REASONS,
    FollowUpResult,
    Reason,
    Source,
    Status,
)
from service.db.unit_of_work import Work
from service.privacy.masking import masked_model
from service.realtime.protocol import RowId
from service.runtime import Runtime
from service.tokens.service import CONFIGURED

router = APIRouter()


async def admin_actor(caller: CallerDep) -> str:
    """Who acts, for the history: ``admin`` (KEFU_ADMIN_TOKEN), ``admin:<token name>``,
    ``supervisor:<name>``."""
    if caller.name == CONFIGURED:
        return "admin"
    return f"{caller.role}:{caller.name}"


async def complaint_state(work: Work, complaint_id: int) -> dict[str, Any] | None:
    """The row and its urgency reasons, as the audit log keeps them (row-locked on PG)."""
    await work.session.flush()
    complaint = await work.session.get(
        Complaint, complaint_id, with_for_update=work.is_postgres, populate_existing=True
    )
    state = audit.snapshot(complaint, COMPLAINT_FIELDS)
    if state is not None:
        reasons = await work.session.scalars(
            select(ComplaintReason.reason).where(ComplaintReason.complaint_id == complaint_id)
        )
        state["reasons"] = sorted(reasons.all())
    return state


COMPLAINT_FIELDS = (
    "topic",
    "summary",
    "facts",
    "status",
    "owner_id",
    "urgent",
    "due_at",
    "follow_up_result",
)


Actor = Annotated[str, Depends(admin_actor)]


def filters_of(query: ComplaintFilterQuery, runtime: Runtime) -> Filters:
    for topic in query.topic:
        runtime.complaints.recorder.topic(topic)
    owner = query.owner
    return Filters(
        status=query.status,
        class_=query.class_,
        reason=query.reason,
        topic=query.topic,
        source=query.source,
        owner="none" if owner == "none" else (int(owner) if owner is not None else None),
        overdue=query.overdue,
        since=query.since,
        until=query.until,
        customer_id=query.customer_id,
        player_id=query.player_id,
        agent_id=query.agent_id,
        chat_id=query.chat_id,
    )


@router.get("/complaints", response_model=ComplaintPage, tags=["complaints"])
async def list_complaints(
    runtime: RuntimeDep, query: Annotated[ComplaintListQuery, Query()], clear: ClearPiiDep
) -> ComplaintPage:
    filters = filters_of(query, runtime)
    async with runtime.units.read() as session:
        items, total = await queries.page(
            session, filters, query.sort, query.limit, query.offset, runtime.clock.now()
        )
    if not clear:  # S-privacy: masked for callers without the pii permission
        items = [masked_model(item) for item in items]
    return ComplaintPage(items=items, total=total, limit=query.limit, offset=query.offset)


@router.get(
    "/complaints/export.csv",
    response_class=StreamingResponse,
    tags=["complaints"],
    responses={200: {"content": {"text/csv": {}}}},
)
async def export_complaints(
    runtime: RuntimeDep, query: Annotated[ComplaintFilterQuery, Query()], clear: ClearPiiDep
) -> StreamingResponse:
    filters = filters_of(query, runtime)
    now = runtime.clock.now()

    async def body() -> AsyncIterator[str]:
        yield export.lines((), header=True)
        async with runtime.units.read() as session:
            async for chunk in queries.stream(session, filters, query.sort, now):
                cards = chunk if clear else [masked_model(card) for card in chunk]
                yield export.lines(cards, header=False)

    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="complaints.csv"'},
    )


@router.get("/complaints/workflow", response_model=WorkflowOut, tags=["complaints"])
async def workflow(runtime: RuntimeDep) -> WorkflowOut:
    return WorkflowOut(
        statuses=list(Status),
        moves={status: sorted(targets) for status, targets in MOVES.items()},
        topics=list(runtime.settings.topics),
        reasons=list(Reason),
        staff_reasons=sorted(STAFF_REASONS),
        sources=list(Source),
        follow_up_results=list(FollowUpResult),
        sort_keys=list(SORT_KEYS),
    )


@router.get("/complaints/{complaint_id}", response_model=ComplaintDetail, tags=["complaints"])
async def get_complaint(
    complaint_id: RowId, runtime: RuntimeDep, clear: ClearPiiDep
) -> ComplaintDetail:
    async with runtime.units.read() as session:
        detail = await queries.detail(session, complaint_id, runtime.clock.now())
    return detail if clear else masked_model(detail)


@router.patch("/complaints/{complaint_id}", response_model=ComplaintDetail, tags=["complaints"])
async def update_complaint(
    complaint_id: RowId,
    patch: ComplaintUpdate,
    runtime: RuntimeDep,
    actor: Actor,
    caller: CallerDep,
    clear: ClearPiiDep,
) -> ComplaintDetail:
    async with runtime.units() as work:
        before = await complaint_state(work, complaint_id)
        await runtime.complaints.update(work, complaint_id, patch, actor)
        after = await complaint_state(work, complaint_id)
        if after is not None and patch.comment is not None:
            after["comment"] = patch.comment
        target = ("complaint", complaint_id)
        await audit.record(
            work.session, caller, work.now, "complaint.update", target, before, after
        )
    return await get_complaint(complaint_id, runtime, clear)


@router.post(
    "/complaints/{complaint_id}/follow-up", response_model=ComplaintDetail, tags=["complaints"]
)
async def record_follow_up(
    complaint_id: RowId,
    data: FollowUpIn,
    runtime: RuntimeDep,
    actor: Actor,
    caller: CallerDep,
    clear: ClearPiiDep,
) -> ComplaintDetail:
    async with runtime.units() as work:
        before = await complaint_state(work, complaint_id)
        await runtime.complaints.record_follow_up(work, complaint_id, data, actor)
        after = await complaint_state(work, complaint_id)
        if after is not None:
            after["follow_up"] = data.model_dump(mode="json")
        target = ("complaint", complaint_id)
        await audit.record(
            work.session, caller, work.now, "complaint.follow_up", target, before, after
        )
    return await get_complaint(complaint_id, runtime, clear)

"""/api/v1/shifts and /api/v1/handovers: who is on duty, and what passed at each shift's end."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from service.api.auth import RuntimeDep
from service.desk.models import Handover
from service.realtime.protocol import MAX_ID

router = APIRouter(tags=["shifts"])


class ShiftOut(BaseModel):
    name: str
    hours: str = Field(description="HH:MM-HH:MM in KEFU_TIMEZONE")
    employees: list[str] = Field(description="employee numbers (工号) of its agents")
    on_duty: bool


class ShiftsOut(BaseModel):
    timezone: str
    shifts: list[ShiftOut] = Field(description="KEFU_SHIFTS")
    next_end: datetime | None = Field(description="when the next handover runs")
    at: datetime


class HandoverOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    why: str = Field(description="shift_end")
    shift: str | None
    from_agent_id: int
    to_agent_id: int | None = Field(description="null: nobody could take it (queue / unchanged)")
    what: str = Field(description="chat | complaint | promise")
    ref_id: int
    note: str


class HandoverPage(BaseModel):
    items: list[HandoverOut]
    total: int


@router.get("/shifts", response_model=ShiftsOut)
async def list_shifts(runtime: RuntimeDep) -> ShiftsOut:
    return ShiftsOut.model_validate(runtime.handovers.status(runtime.clock.now()))


@router.get("/handovers", response_model=HandoverPage)
async def list_handovers(
    runtime: RuntimeDep,
    since: datetime | None = None,
    agent_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> HandoverPage:
    query = select(Handover)
    if since is not None:
        query = query.where(Handover.at >= since)
    if agent_id is not None:
        query = query.where(
            (Handover.from_agent_id == agent_id) | (Handover.to_agent_id == agent_id)
        )
    async with runtime.units.read() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(Handover.at, Handover.id).limit(limit).offset(offset)
        )
        items = [HandoverOut.model_validate(row) for row in rows]
    return HandoverPage(items=items, total=total or 0)

"""/api/v1/desk: is anyone on duty (S-no-unattended)?"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from service.api.auth import RuntimeDep

router = APIRouter(prefix="/desk", tags=["desk"])


class DeskOut(BaseModel):
    unattended: bool = Field(description="in service hours and no agent serving: an alarm")
    in_service_hours: bool
    service_hours: str = Field(description="KEFU_SERVICE_HOURS")
    timezone: str = Field(description="KEFU_TIMEZONE")
    serving_agents: int = Field(description="agents online, connected and active")
    supervisors_connected: int
    queued_chats: int
    open_callbacks: int
    overdue_callbacks: int
    open_promises: int = Field(description="callbacks and follow-ups agents promised, not kept")
    overdue_promises: int = Field(description="promises still open past their time")
    at: datetime


@router.get("", response_model=DeskOut)
async def desk_status(runtime: RuntimeDep) -> DeskOut:
    async with runtime.units.read() as session:
        return DeskOut.model_validate(await runtime.chats.desk.status(session, runtime.clock.now()))

"""/api/v1/incidents: surge mode for outages (S-classes batch), for supervisors and admins.

Thin: parse, call the service in a unit of work, record the audit row, answer with the row.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.complaints.endpoints import Actor
from service.incidents.models import Incident
from service.incidents.schemas import (
    IncidentIn,
    IncidentOut,
    IncidentPage,
    IncidentUpdate,
    ResolveIn,
)
from service.realtime.protocol import MAX_ID, RowId

router = APIRouter(prefix="/incidents", tags=["incidents"])

FIELDS = (
    "title",
    "keywords",
    "topic",
    "known_issue",
    "eta_at",
    "status",
    "batch_id",
    "resolved_at",
    "resolution",
)


@router.post("", response_model=IncidentOut, status_code=201)
async def declare(
    data: IncidentIn, runtime: RuntimeDep, caller: CallerDep, actor: Actor
) -> IncidentOut:
    async with runtime.units() as work:
        incident = await runtime.incidents.declare(work, data, actor)
        after = audit.snapshot(incident, FIELDS)
        await audit.record(
            work.session, caller, work.now, "incident.declare", incident, None, after
        )
        out = await runtime.incidents.out(work.session, incident)
    runtime.incidents.forget()  # committed: this process's next chats see it at once
    return out


@router.get("", response_model=IncidentPage)
async def list_incidents(
    runtime: RuntimeDep,
    status: Literal["open", "resolved"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> IncidentPage:
    async with runtime.units.read() as session:
        return await runtime.incidents.page(session, status=status, limit=limit, offset=offset)


@router.get("/{incident_id}", response_model=IncidentOut)
async def get_incident(incident_id: RowId, runtime: RuntimeDep) -> IncidentOut:
    async with runtime.units.read() as session:
        return await runtime.incidents.get(session, incident_id)


@router.patch("/{incident_id}", response_model=IncidentOut)
async def update_incident(
    incident_id: RowId, data: IncidentUpdate, runtime: RuntimeDep, caller: CallerDep
) -> IncidentOut:
    async with runtime.units() as work:
        before = audit.snapshot(await work.session.get(Incident, incident_id), FIELDS)
        incident = await runtime.incidents.update(work, incident_id, data)
        after = audit.snapshot(incident, FIELDS)
        await audit.record(
            work.session, caller, work.now, "incident.update", incident, before, after
        )
        out = await runtime.incidents.out(work.session, incident)
    runtime.incidents.forget()
    return out


@router.post("/{incident_id}/resolve", response_model=IncidentOut)
async def resolve_incident(
    incident_id: RowId, data: ResolveIn, runtime: RuntimeDep, caller: CallerDep, actor: Actor
) -> IncidentOut:
    async with runtime.units() as work:
        before = audit.snapshot(await work.session.get(Incident, incident_id), FIELDS)
        incident = await runtime.incidents.resolve(work, incident_id, data.resolution, actor)
        after = audit.snapshot(incident, FIELDS)
        await audit.record(
            work.session, caller, work.now, "incident.resolve", incident, before, after
        )
        out = await runtime.incidents.out(work.session, incident)
    runtime.incidents.forget()
    return out

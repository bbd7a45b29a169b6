"""/api/v1/groups: departments and their agents."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.exc import IntegrityError

from service.api.auth import RuntimeDep
from service.errors import Conflict
from service.groups import service
from service.groups.schemas import GroupCreate, GroupOut, GroupUpdate
from service.realtime.protocol import RowId

router = APIRouter(prefix="/groups", tags=["groups"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
async def create_group(data: GroupCreate, runtime: RuntimeDep) -> GroupOut:
    try:
        async with runtime.units() as work:
            return await service.create(work, data)
    except IntegrityError:
        raise Conflict(f"group {data.name!r} exists") from None


@router.get("", response_model=list[GroupOut])
async def list_groups(runtime: RuntimeDep) -> list[GroupOut]:
    async with runtime.units.read() as session:
        return await service.list_groups(session)


@router.get("/{name}", response_model=GroupOut)
async def get_group(name: str, runtime: RuntimeDep) -> GroupOut:
    async with runtime.units.read() as session:
        return await service.describe(session, await service.get(session, name))


@router.patch("/{name}", response_model=GroupOut)
async def update_group(name: str, data: GroupUpdate, runtime: RuntimeDep) -> GroupOut:
    async with runtime.units() as work:
        return await service.update(work, name, data)


@router.put("/{name}/agents/{agent_id}", response_model=GroupOut)
async def add_member(name: str, agent_id: RowId, runtime: RuntimeDep) -> GroupOut:
    async with runtime.units() as work:
        await service.add_member(work, name, agent_id)
        # A new member may take chats waiting for the group at once.
        await runtime.chats.pull(work)
        return await service.describe(work.session, await service.get(work.session, name))


@router.delete("/{name}/agents/{agent_id}", response_model=GroupOut)
async def remove_member(name: str, agent_id: RowId, runtime: RuntimeDep) -> GroupOut:
    async with runtime.units() as work:
        return await service.remove_member(work, name, agent_id)

"""/api/v1/groups: departments and their agents."""

from __future__ import annotations

from fastapi import APIRouter, status
from sqlalchemy.exc import IntegrityError

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.errors import Conflict
from service.groups import service
from service.groups.schemas import GroupCreate, GroupOut, GroupUpdate
from service.realtime.protocol import RowId

router = APIRouter(prefix="/groups", tags=["groups"])


def state(group: GroupOut) -> dict[str, object]:
    return group.model_dump(mode="json", include={"name", "title", "agents"})


@router.post("", status_code=status.HTTP_201_CREATED, response_model=GroupOut)
async def create_group(data: GroupCreate, runtime: RuntimeDep, caller: CallerDep) -> GroupOut:
    try:
        async with runtime.units() as work:
            group = await service.create(work, data)
            target = ("group", group.name)
            await audit.record(
                work.session, caller, work.now, "group.create", target, None, state(group)
            )
            return group
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
async def update_group(
    name: str, data: GroupUpdate, runtime: RuntimeDep, caller: CallerDep
) -> GroupOut:
    async with runtime.units() as work:
        before = state(await service.describe(work.session, await service.get(work.session, name)))
        group = await service.update(work, name, data)
        await audit.record(
            work.session, caller, work.now, "group.update", ("group", name), before, state(group)
        )
        return group


@router.put("/{name}/agents/{agent_id}", response_model=GroupOut)
async def add_member(
    name: str, agent_id: RowId, runtime: RuntimeDep, caller: CallerDep
) -> GroupOut:
    async with runtime.units() as work:
        before = state(await service.describe(work.session, await service.get(work.session, name)))
        await service.add_member(work, name, agent_id)
        # A new member may take chats waiting for the group at once.
        await runtime.chats.pull(work)
        group = await service.describe(work.session, await service.get(work.session, name))
        if state(group) != before:
            await audit.record(
                work.session,
                caller,
                work.now,
                "group.add_agent",
                ("group", name),
                before,
                state(group),
            )
        return group


@router.delete("/{name}/agents/{agent_id}", response_model=GroupOut)
async def remove_member(
    name: str, agent_id: RowId, runtime: RuntimeDep, caller: CallerDep
) -> GroupOut:
    async with runtime.units() as work:
        before = state(await service.describe(work.session, await service.get(work.session, name)))
        group = await service.remove_member(work, name, agent_id)
        if state(group) != before:
            await audit.record(
                work.session,
                caller,
                work.now,
                "group.remove_agent",
                ("group", name),
                before,
                state(group),
            )
        return group

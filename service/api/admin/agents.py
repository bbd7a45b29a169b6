"""/api/v1/agents: create agents (token shown once), list, change, rotate or revoke tokens."""

from __future__ import annotations

from fastapi import APIRouter, status

from service import audit
from service.agents import service
from service.agents.schemas import AgentCreate, AgentCreated, AgentOut, AgentUpdate
from service.api.auth import CallerDep, RuntimeDep
from service.realtime.protocol import RowId

router = APIRouter(prefix="/agents", tags=["agents"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=AgentCreated)
async def create_agent(data: AgentCreate, runtime: RuntimeDep, caller: CallerDep) -> AgentCreated:
    async with runtime.units() as work:
        agent, token = await service.create_agent(
            work.session, data, now=work.now, default_capacity=runtime.settings.default_capacity
        )
        await audit.record(
            work.session, caller, work.now, "agent.create", agent, None, audit.snapshot(agent)
        )
        return AgentCreated.model_validate(
            {**AgentOut.model_validate(agent).model_dump(), "token": token}
        )


@router.get("", response_model=list[AgentOut])
async def list_agents(runtime: RuntimeDep) -> list[AgentOut]:
    async with runtime.units.read() as session:
        rows = await service.list_agents(session)
    return [
        AgentOut.model_validate(agent).model_copy(update={"open_chats": n}) for agent, n in rows
    ]


@router.patch("/{agent_id}", response_model=AgentOut)
async def update_agent(
    agent_id: RowId, data: AgentUpdate, runtime: RuntimeDep, caller: CallerDep
) -> AgentOut:
    async with runtime.units() as work:
        current = await service.get_agent(work.session, agent_id)
        was_active, before = current.active, audit.snapshot(current, EDITABLE)
        agent = await service.update_agent(work.session, agent_id, data)
        await work.session.flush()
        await audit.record(
            work.session,
            caller,
            work.now,
            "agent.update",
            agent,
            before,
            audit.snapshot(agent, EDITABLE),
        )
        if was_active and not agent.active:
            await runtime.chats.sign_out(work, agent.id, "disabled")
        elif data.capacity is not None:
            await runtime.chats.pull(work)  # a raised capacity takes waiting chats at once
        open_chats = (await service.open_chat_counts(work.session)).get(agent.id, 0)
        return AgentOut.model_validate(agent).model_copy(update={"open_chats": open_chats})


# What an admin changes on an agent; status and connections move by themselves.
EDITABLE = ("name", "capacity", "role", "active")


@router.post("/{agent_id}/token", response_model=AgentCreated)
async def rotate_token(agent_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> AgentCreated:
    async with runtime.units() as work:
        agent, token = await service.rotate_token(work.session, agent_id)
        await work.session.flush()
        await audit.record(work.session, caller, work.now, "agent.token_rotate", agent, None, None)
        await runtime.chats.sign_out(work, agent.id, "token_replaced")
        return AgentCreated.model_validate(
            {**AgentOut.model_validate(agent).model_dump(), "token": token}
        )


@router.delete("/{agent_id}/token", response_model=AgentOut)
async def revoke_token(agent_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> AgentOut:
    """The agent's token stops working and every socket of theirs closes (``signed_out``
    ``token_revoked``, on whichever process holds it); a new one comes from ``POST``."""
    async with runtime.units() as work:
        agent, _ = await service.rotate_token(work.session, agent_id)  # a secret nobody sees
        await work.session.flush()
        await audit.record(work.session, caller, work.now, "agent.token_revoke", agent, None, None)
        await runtime.chats.sign_out(work, agent.id, "token_revoked")
        return AgentOut.model_validate(agent)

"""The agent gateway, ``/ws/agent``: parses console frames, calls the chat service."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from fastapi import APIRouter, WebSocket

from service.api.sockets import ready_frame, receive_hello, reject, serve_frames
from service.chats.routing import agent_address
from service.errors import Forbidden, Unauthorized, Unsupported
from service.realtime.hub import Connection, SetCursor, Sync
from service.realtime.protocol import (
    AGENT_TYPES,
    AgentClose,
    AgentCommand,
    AgentMessage,
    AgentTyping,
    ComplaintFrame,
    DismissComplaint,
    Hold,
    Parser,
    Status,
    agent_commands,
    agent_hello,
)
from service.runtime import Runtime

router = APIRouter()


@router.websocket("/ws/agent")
async def agent_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    hello = await receive_hello(websocket, agent_hello, settings)
    if hello is None:
        return
    try:
        async with runtime.units(exclusive=True) as work:
            agent, chats = await runtime.chats.agent_hello(work, hello)
    except (Unauthorized, Forbidden) as exc:
        await reject(websocket, exc)
        return

    agent_id = agent.id
    connection = Connection(websocket, "agent", runtime.chats.fill, settings.outgoing_queue)
    me = {
        "id": agent.id,
        "name": agent.name,
        "employee_no": agent.employee_no,
        "role": agent.role,
        "status": agent.status,
        "capacity": agent.capacity,
    }
    connection.offer(ready_frame(agent=me, chats=chats))
    resume = hello.resume or {}
    for chat in chats:
        connection.offer(SetCursor(chat["chat_id"], resume.get(chat["chat_id"], 0)))
        connection.offer(Sync(chat["chat_id"]))
    address = agent_address(agent_id)
    runtime.hub.register(address, connection)
    sender = asyncio.create_task(connection.run(), name=f"kefu.send.{address}")
    # Only now that the socket is reachable may chats be routed to it.
    async with runtime.units(exclusive=True) as work:
        await runtime.chats.pull(work)

    async def handle(command: AgentCommand) -> None:
        service = runtime.chats
        if isinstance(command, AgentMessage):
            async with runtime.units() as work:
                ack = await service.agent_message(
                    work,
                    agent_id,
                    command.chat_id,
                    command.client_id,
                    command.text,
                    command.hold_back,
                )
            connection.offer(
                {
                    "type": "ack",
                    "chat_id": command.chat_id,
                    "client_id": ack.client_id,
                    "seq": ack.seq,
                }
            )
        elif isinstance(command, AgentTyping):
            async with runtime.units() as work:
                await service.agent_typing(work, agent_id, command.chat_id)
        elif isinstance(command, Status):
            async with runtime.units(exclusive=True) as work:
                await service.set_status(work, agent_id, command.status)
        elif isinstance(command, AgentClose):
            async with runtime.units(exclusive=True) as work:
                await service.agent_close(work, agent_id, command.chat_id)
        elif isinstance(command, Hold):
            async with runtime.units() as work:
                await service.agent_hold(work, agent_id, command.chat_id)
        elif isinstance(command, ComplaintFrame):
            async with runtime.units() as work:
                await runtime.complaints.agent_complaint(work, agent_id, command)
        elif isinstance(command, DismissComplaint):
            async with runtime.units() as work:
                await runtime.complaints.dismiss_draft(
                    work, agent_id, command.complaint_id, command.comment
                )
        else:
            raise Unsupported(f"'{command.type}' is not available yet")

    parser = Parser(agent_commands, AGENT_TYPES, settings.max_frame_bytes)
    try:
        await serve_frames(websocket, connection, parser, handle)
    finally:
        runtime.hub.unregister(address, connection)
        sender.cancel()
        with suppress(asyncio.CancelledError):
            await sender
        async with runtime.units() as work:
            await runtime.chats.agent_left(work, agent_id)

"""The agent gateway, ``/ws/agent``: parses console frames, calls the chat service."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from fastapi import APIRouter, WebSocket

from service.api.sockets import (
    bookkeep,
    guarded,
    ready_frame,
    receive_hello,
    reject,
    serve_frames,
)
from service.chats import receipts
from service.chats.conduct import Refused
from service.chats.routing import agent_address
from service.chats.store import client_key
from service.db.models import Sender
from service.errors import Forbidden, Unauthorized, Unsupported
from service.realtime.hub import Connection, SetCursor, Sync
from service.realtime.protocol import (
    AGENT_TYPES,
    AgentClose,
    AgentCommand,
    AgentMessage,
    AgentRead,
    AgentTyping,
    ComplaintFrame,
    Correct,
    DismissComplaint,
    Hold,
    Note,
    Parser,
    Status,
    Transfer,
    UseTemplate,
    agent_commands,
    agent_hello,
)
from service.runtime import Runtime
from service.unit import Work
from service.writer import Step, Touches

router = APIRouter()


@router.websocket("/ws/agent")
@guarded
async def agent_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    hello = await receive_hello(websocket, agent_hello, settings)
    if hello is None:
        return
    try:
        async with runtime.units() as work:
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
    templates = runtime.templates.quick_replies()
    connection.offer(ready_frame(agent=me, chats=chats, templates=templates))
    resume = hello.resume or {}
    for chat in chats:
        connection.offer(SetCursor(chat["chat_id"], resume.get(chat["chat_id"], 0)))
        connection.offer(Sync(chat["chat_id"]))
    address = agent_address(agent_id)
    runtime.hub.register(address, connection)
    sender = asyncio.create_task(connection.run(), name=f"kefu.send.{address}")
    # Only now that the socket is reachable may chats be routed to it.
    async with runtime.units() as work:
        await runtime.chats.pull(work)

    def ack(chat_id: int, client_id: str | None, seq: int | None) -> None:
        if client_id is not None and seq is not None:
            connection.offer(
                {"type": "ack", "chat_id": chat_id, "client_id": client_id, "seq": seq}
            )

    async def handle(command: AgentCommand) -> None:
        try:
            await dispatch(command)
        except Refused as refused:
            # S-forbidden-phrases: nothing was stored; the refusal itself is counted.
            async with runtime.units() as work:
                await runtime.chats.conduct.record_refusal(work, refused)
            raise

    async def stored(chat_id: int, client_id: str | None, step: Step[int | None]) -> None:
        """A frame that stores a message: written with others' by the group commit, then acked."""
        key = client_key(Sender.agent, agent_id, client_id)
        touches = Touches(chat_id, key, agent_id)
        await runtime.writer.run(step, touches, acked=lambda seq: ack(chat_id, client_id, seq))

    async def dispatch(command: AgentCommand) -> None:
        service = runtime.chats
        conduct = service.conduct
        if isinstance(command, AgentMessage):
            message = command

            async def reply(work: Work) -> int:
                sent = await service.agent_message(
                    work,
                    agent_id,
                    message.chat_id,
                    message.client_id,
                    message.text,
                    message.hold_back,
                    message.attachment_ids,
                )
                return sent.seq

            await stored(command.chat_id, command.client_id, reply)
        elif isinstance(command, AgentRead):
            read = command
            # Batched with the messages: a read costs a column, not a unit of its own.
            await runtime.writer.run(
                lambda work: receipts.agent_read(work, agent_id, read.chat_id, read.seq),
                Touches(read.chat_id),
            )
        elif isinstance(command, UseTemplate):
            template = command
            await stored(
                command.chat_id,
                command.client_id,
                lambda work: conduct.send_template(
                    work,
                    agent_id,
                    template.chat_id,
                    template.key,
                    template.vars,
                    template.client_id,
                ),
            )
        elif isinstance(command, Note):
            note = command
            await stored(
                command.chat_id,
                command.client_id,
                lambda work: conduct.note(work, agent_id, note.chat_id, note.text, note.client_id),
            )
        elif isinstance(command, Correct):
            fix = command
            await stored(
                command.chat_id,
                command.client_id,
                lambda work: conduct.correct(
                    work, agent_id, fix.chat_id, fix.seq, fix.text, fix.client_id
                ),
            )
        elif isinstance(command, Transfer):
            async with runtime.units() as work:
                await runtime.transfers.transfer(work, agent_id, command)
        elif isinstance(command, AgentTyping):
            async with runtime.units() as work:
                await service.agent_typing(work, agent_id, command.chat_id)
        elif isinstance(command, Status):
            async with runtime.units() as work:
                await service.set_status(work, agent_id, command.status)
        elif isinstance(command, AgentClose):
            async with runtime.units() as work:
                if command.reason == "abuse":
                    await conduct.close_abusive(work, agent_id, command.chat_id)
                else:
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

        async def left() -> None:
            async with runtime.units() as work:
                await runtime.chats.agent_left(work, agent_id)

        await bookkeep(left, f"agent_left:{agent_id}", settings.agent_grace_s)

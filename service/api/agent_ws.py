"""The agent gateway, ``/ws/agent``: parses console frames, calls the chat service."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket

from service.api.sockets import (
    bookkeep,
    client_address,
    guarded,
    limited,
    receive_hello,
    reject,
    serve_frames,
    stop_sending,
    throttled,
)
from service.chats import receipts
from service.chats.conduct import Refused
from service.chats.routing import agent_address
from service.chats.store import touches
from service.db.models import Sender
from service.db.unit_of_work import Work
from service.errors import Forbidden, Unauthorized, Unsupported
from service.promises.schemas import PromiseDone
from service.realtime.events import AgentAck, AgentReady, Promises
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
    KeepPromise,
    ListPromises,
    MakePromise,
    Note,
    Parser,
    Status,
    Transfer,
    UseTemplate,
    agent_commands,
    agent_hello,
)
from service.runtime import Runtime
from service.security import hash_token

router = APIRouter()


# The frames that store a message: a unit for the group commit, returning the stored seq
# (None when nothing was stored), acked once the batch commits.
Stored = Callable[[Runtime, Work, int, Any], Awaitable[int | None]]
STORED: dict[type[AgentCommand], Stored] = {
    AgentMessage: lambda rt, work, agent_id, c: rt.chats.agent_message_seq(
        work, agent_id, c.chat_id, c.client_id, c.text, c.hold_back, c.attachment_ids
    ),
    UseTemplate: lambda rt, work, agent_id, c: rt.chats.conduct.send_template(
        work, agent_id, c.chat_id, c.key, c.vars, c.client_id
    ),
    Note: lambda rt, work, agent_id, c: rt.chats.conduct.note(
        work, agent_id, c.chat_id, c.text, c.client_id
    ),
    Correct: lambda rt, work, agent_id, c: rt.chats.conduct.correct(
        work, agent_id, c.chat_id, c.seq, c.text, c.client_id
    ),
    # S-callback: the quick reply with the promised time, and the task it opens.
    MakePromise: lambda rt, work, agent_id, c: rt.promises.make(work, agent_id, c),
}
# The others: one call of one service, in a unit of work of its own.
InUnit = Callable[[Runtime, Work, int, Any], Awaitable[object]]
IN_UNIT: dict[type[AgentCommand], InUnit] = {
    Transfer: lambda rt, work, agent_id, c: rt.transfers.transfer(work, agent_id, c),
    AgentTyping: lambda rt, work, agent_id, c: rt.chats.agent_typing(work, agent_id, c.chat_id),
    Status: lambda rt, work, agent_id, c: rt.chats.set_status(work, agent_id, c.status),
    AgentClose: lambda rt, work, agent_id, c: rt.chats.agent_close(
        work, agent_id, c.chat_id, c.reason
    ),
    Hold: lambda rt, work, agent_id, c: rt.chats.agent_hold(work, agent_id, c.chat_id),
    ComplaintFrame: lambda rt, work, agent_id, c: rt.complaints.agent_complaint(work, agent_id, c),
    DismissComplaint: lambda rt, work, agent_id, c: rt.complaints.dismiss_draft(
        work, agent_id, c.complaint_id, c.comment
    ),
    KeepPromise: lambda rt, work, agent_id, c: rt.promises.complete(
        work,
        c.promise_id,
        PromiseDone(state="done", outcome=c.outcome),
        f"agent:{agent_id}",
        agent_id=agent_id,
    ),
}


@router.websocket("/ws/agent")
@guarded
@limited
async def agent_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    hello = await receive_hello(websocket, agent_hello, settings)
    if hello is None:
        return
    if await throttled(websocket, runtime.limits, hello.token):
        return
    peer = client_address(websocket)
    # Signing in until registered: a graceful stop now waits for it and says 1001 to it too.
    with runtime.hub.opening():
        try:
            async with runtime.units() as work:
                agent, chats = await runtime.chats.agent_hello(work, hello)
        except (Unauthorized, Forbidden) as exc:
            runtime.limits.signin_failed(peer, hello.token)
            await reject(websocket, exc)
            return

        agent_id = agent.id
        connection = Connection(
            websocket, "agent", runtime.chats.fill, settings.outgoing_queue, runtime.metrics
        )
        connection.credential = hash_token(hello.token)  # for the sign-in sweep (service/tokens)
        me = {
            "id": agent.id,
            "name": agent.name,
            "employee_no": agent.employee_no,
            "role": agent.role,
            "status": agent.status,
            "capacity": agent.capacity,
        }
        templates = runtime.templates.quick_replies()
        connection.offer(AgentReady(me, chats, templates).frame())
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
            connection.offer(AgentAck(chat_id, client_id, seq).frame())

    async def handle(command: AgentCommand) -> None:
        try:
            await dispatch(command)
        except Refused as refused:
            # S-forbidden-phrases: nothing was stored; the refusal itself is counted.
            async with runtime.units() as work:
                await runtime.chats.conduct.record_refusal(work, refused)
            raise

    async def dispatch(command: AgentCommand) -> None:
        if isinstance(command, ListPromises):
            # Answered on this socket alone: the agent's own open promises (the task list).
            async with runtime.units.read() as session:
                page = await runtime.promises.open_of(session, agent_id, runtime.clock.now())
            listed = page.model_dump(mode="json")
            connection.offer(Promises(listed["items"], listed["total"]).frame())
        elif (store := STORED.get(type(command))) is not None:
            chat_id, client_id = command.chat_id, command.client_id  # type: ignore[union-attr]

            async def step(work: Work) -> int | None:
                return await store(runtime, work, agent_id, command)

            await runtime.writer.run(
                step,
                touches(chat_id, Sender.agent, agent_id, client_id),
                acked=lambda seq: ack(chat_id, client_id, seq),
            )
        elif isinstance(command, AgentRead):
            # Batched with the messages: a read costs a column, not a unit of its own.
            read, read_touches = receipts.agent_read_step(agent_id, command.chat_id, command.seq)
            await runtime.writer.run(read, read_touches)
        elif (call := IN_UNIT.get(type(command))) is not None:
            async with runtime.units() as work:
                await call(runtime, work, agent_id, command)
        else:
            raise Unsupported(f"'{command.type}' is not available yet")

    parser = Parser(agent_commands, AGENT_TYPES, settings.max_frame_bytes)
    limiter = runtime.limits.socket_limiter(peer)
    try:
        await serve_frames(websocket, connection, parser, handle, limiter, runtime.limits.now)
    finally:
        runtime.hub.unregister(address, connection)
        await stop_sending(connection, sender)

        async def left() -> None:
            async with runtime.units() as work:
                await runtime.chats.agent_left(work, agent_id)

        try:
            await bookkeep(left, f"agent_left:{agent_id}", settings.agent_grace_s)
        finally:
            runtime.hub.departed(address)

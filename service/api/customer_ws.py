"""The customer gateway, ``/ws/customer``: parses frames, calls the chat service."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket

from service.api.limits import retry_after
from service.api.sockets import (
    TOO_MANY,
    bookkeep,
    client_address,
    guarded,
    limited,
    reason,
    receive_hello,
    reject,
    serve_frames,
    stop_sending,
    throttled,
)
from service.chats import receipts
from service.chats.routing import customer_address
from service.chats.service import Ack, Attached, Opened
from service.db.group_commit import Touches
from service.db.unit_of_work import Work
from service.errors import Forbidden, NotYourChat, Unauthorized, Unsupported
from service.realtime.events import Closed, CustomerAck, CustomerReady
from service.realtime.hub import Connection, SetCursor, Sync
from service.realtime.protocol import (
    CUSTOMER_TYPES,
    Complain,
    CustomerClose,
    CustomerCommand,
    CustomerHello,
    CustomerMessage,
    CustomerRead,
    CustomerTyping,
    LeaveMessage,
    Parser,
    Rate,
    customer_commands,
    customer_hello,
)
from service.runtime import Runtime

log = logging.getLogger(__name__)
router = APIRouter()


# Each frame but ``message`` is one call of one service, in a unit of work of its own.
InUnit = Callable[[Runtime, Work, int, Any], Awaitable[object]]
IN_UNIT: dict[type[CustomerCommand], InUnit] = {
    CustomerTyping: lambda rt, work, chat_id, _: rt.chats.customer_typing(work, chat_id),
    CustomerClose: lambda rt, work, chat_id, _: rt.chats.customer_close(work, chat_id),
    Complain: lambda rt, work, chat_id, c: rt.complaints.customer_complain(
        work, chat_id, c.topic, c.text
    ),
    Rate: lambda rt, work, chat_id, c: rt.complaints.survey.rate(work, chat_id, c.score, c.comment),
    LeaveMessage: lambda rt, work, chat_id, c: rt.callbacks.leave_message(
        work, chat_id, c.contact, c.text
    ),
}


def signin_key(hello: CustomerHello) -> str | None:
    """What a failed sign-in is counted against besides the address: the resume token's
    prefix, or the player whose signature failed."""
    if hello.resume is not None:
        return hello.resume.token
    if hello.player is not None:
        return f"player:{hello.player.id}"
    return None


@router.websocket("/ws/customer")
@guarded
@limited
async def customer_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    hello = await receive_hello(websocket, customer_hello, settings)
    if hello is None:
        return
    key = signin_key(hello)
    if await throttled(websocket, runtime.limits, key):
        return
    peer = client_address(websocket)
    if key is None and (wait := await runtime.caps.new_guest_chat(peer)):
        log.info("socket.too_many_chats address=%s", peer)
        after = retry_after(wait)
        await websocket.close(TOO_MANY, reason(f"too many new chats; retry in {after} s"))
        return
    connection = Connection(
        websocket, "customer", runtime.chats.fill, settings.outgoing_queue, runtime.metrics
    )
    attached: list[Attached] = []

    def attach(opened: Opened) -> None:
        # Told once the hello's unit has committed, before its frames are published: the
        # socket is in the hub for them (an ``assigned`` at hello), after ``ready``.
        joined = opened.attached
        connection.offer(
            CustomerReady(
                chat_id=joined.chat_id, resume_token=joined.resume_token, **joined.state
            ).frame()
        )
        connection.offer(SetCursor(joined.chat_id, joined.after_seq))
        if hello.resume is None:
            # A new chat: its every message so far was written by this unit, so they go out
            # from here, without reading them back (the hub's copies are dropped by the cursor).
            for frame in opened.work.frames_to(customer_address(joined.chat_id), "message"):
                connection.offer(frame)
        else:
            connection.offer(Sync(joined.chat_id))
        if joined.closed_by is not None:
            connection.offer(Closed(joined.chat_id, joined.closed_by).frame())
        runtime.hub.register(customer_address(joined.chat_id), connection)
        attached.append(joined)

    try:
        # A unit of its own, not the group commit: the benchmark's storm and its 10,000
        # resumes on SQLite's one connection showed big batches of hellos holding it past
        # readers' patience. Signing in until registered: a graceful stop waits, says 1001.
        with runtime.hub.opening():
            started = time.perf_counter()
            step = runtime.chats.customer_hello_step(hello, peer)
            # Not waiting for SQLite's disk: a hello acknowledges nothing the customer wrote.
            async with runtime.units.transaction(durable=False) as work:
                opened = await step(work)
            # Committed: in the hub before the unit's frames are published.
            attach(opened)
            await runtime.units.committed(work)
            if runtime.metrics is not None:
                runtime.metrics.hello_seconds.observe(time.perf_counter() - started)
    except (Unauthorized, Forbidden) as exc:
        runtime.limits.signin_failed(peer, key)
        await reject(websocket, exc)
        return
    except BaseException:
        # Committed, but this handler is cancelled (the server stops; its process's sockets
        # are counted out as it retires, service/chats/presence.py): out of the hub.
        if attached:
            runtime.hub.unregister(customer_address(attached[0].chat_id), connection)
        raise

    chat_id = attached[0].chat_id
    address = customer_address(chat_id)
    sender = asyncio.create_task(connection.run(), name=f"kefu.send.{address}")

    def acknowledge(ack: Ack) -> None:
        connection.offer(CustomerAck(ack.client_id, ack.seq).frame())

    async def handle(command: CustomerCommand) -> None:
        if isinstance(command, CustomerMessage):
            # Stored with other sockets' messages by the group commit, acked once committed.
            step, touches = runtime.chats.customer_message_step(
                chat_id, command.client_id, command.text, command.attachment_ids
            )
            await runtime.writer.run(step, touches, acked=acknowledge)
            return
        if isinstance(command, CustomerRead):
            if command.chat_id not in (None, chat_id):
                raise NotYourChat(f"chat {command.chat_id} is not this socket's chat")
            # Batched with the messages: a read costs a column, not a unit of its own.
            await runtime.writer.run(*receipts.customer_read_step(chat_id, command.seq))
            return
        call = IN_UNIT.get(type(command))
        if call is None:
            raise Unsupported(f"'{command.type}' is not available yet")
        async with runtime.units() as work:
            await call(runtime, work, chat_id, command)

    parser = Parser(customer_commands, CUSTOMER_TYPES, settings.max_frame_bytes)
    limiter = runtime.limits.socket_limiter(peer)
    try:
        await serve_frames(websocket, connection, parser, handle, limiter, runtime.limits.now)
    finally:
        runtime.hub.unregister(address, connection)
        await stop_sending(connection, sender)
        # Through the writer: when thousands of sockets drop at once (a restart, a network
        # blip) their bookkeeping is written in batches, not thousands of transactions at once.
        try:
            await bookkeep(
                lambda: runtime.writer.run(
                    lambda work: runtime.chats.customer_left(work, chat_id), Touches(chat_id)
                ),
                f"customer_left:{chat_id}",
                settings.customer_grace_s,
            )
        finally:
            runtime.hub.departed(address)

"""The customer gateway, ``/ws/customer``: parses frames, calls the chat service."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
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
from service.chats.routing import customer_address
from service.chats.service import Ack
from service.chats.store import client_key
from service.db.models import Sender
from service.errors import Forbidden, NotYourChat, Unauthorized, Unsupported
from service.realtime.hub import Connection, SetCursor, Sync
from service.realtime.protocol import (
    CUSTOMER_TYPES,
    Complain,
    CustomerClose,
    CustomerCommand,
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
from service.unit import Work
from service.writer import Step, Touches

router = APIRouter()


def storing(
    runtime: Runtime,
    chat_id: int,
    client_id: str,
    text: str,
    attachments: Sequence[int] = (),
) -> tuple[Step[Ack], Touches]:
    """The unit of a customer's message frame, and what it touches (for the writer)."""

    async def store(work: Work) -> Ack:
        ack = await runtime.chats.customer_message(work, chat_id, client_id, text, attachments)
        if not ack.duplicate:
            await runtime.complaints.scan_message(work, chat_id, ack.seq, text)
        return ack

    return store, Touches(chat_id, client_key(Sender.customer, None, client_id))


@router.websocket("/ws/customer")
@guarded
async def customer_socket(websocket: WebSocket) -> None:
    runtime: Runtime = websocket.app.state.runtime
    settings = runtime.settings
    await websocket.accept()
    hello = await receive_hello(websocket, customer_hello, settings)
    if hello is None:
        return
    try:
        async with runtime.units() as work:
            attached = await runtime.chats.customer_hello(work, hello)
    except (Unauthorized, Forbidden) as exc:
        await reject(websocket, exc)
        return

    chat_id = attached.chat_id
    connection = Connection(websocket, "customer", runtime.chats.fill, settings.outgoing_queue)
    connection.offer(
        ready_frame(chat_id=chat_id, resume_token=attached.resume_token, **attached.state)
    )
    connection.offer(SetCursor(chat_id, attached.after_seq))
    if hello.resume is None:
        # A new chat: its every message so far was written by this unit, so they go out from
        # here, without reading them back (the hub's copies are dropped by the cursor).
        for frame in work.frames_to(customer_address(chat_id), "message"):
            connection.offer(frame)
    else:
        connection.offer(Sync(chat_id))
    if attached.closed_by is not None:
        connection.offer({"type": "closed", "chat_id": chat_id, "by": attached.closed_by})
    address = customer_address(chat_id)
    runtime.hub.register(address, connection)
    sender = asyncio.create_task(connection.run(), name=f"kefu.send.{address}")

    def acknowledge(ack: Ack) -> None:
        connection.offer({"type": "ack", "client_id": ack.client_id, "seq": ack.seq})

    async def handle(command: CustomerCommand) -> None:
        chats = runtime.chats
        if isinstance(command, CustomerMessage):
            store, touches = storing(
                runtime, chat_id, command.client_id, command.text, command.attachment_ids
            )
            await runtime.writer.run(store, touches, acked=acknowledge)
        elif isinstance(command, CustomerRead):
            if command.chat_id not in (None, chat_id):
                raise NotYourChat(f"chat {command.chat_id} is not this socket's chat")
            seq = command.seq
            # Batched with the messages: a read costs a column, not a unit of its own.
            await runtime.writer.run(
                lambda work: receipts.customer_read(work, chat_id, seq), Touches(chat_id)
            )
        elif isinstance(command, CustomerTyping):
            async with runtime.units() as work:
                await chats.customer_typing(work, chat_id)
        elif isinstance(command, CustomerClose):
            async with runtime.units() as work:
                await chats.customer_close(work, chat_id)
        elif isinstance(command, Complain):
            async with runtime.units() as work:
                await runtime.complaints.customer_complain(
                    work, chat_id, command.topic, command.text
                )
        elif isinstance(command, Rate):
            async with runtime.units() as work:
                await runtime.complaints.survey.rate(work, chat_id, command.score, command.comment)
        elif isinstance(command, LeaveMessage):
            async with runtime.units() as work:
                await runtime.callbacks.leave_message(work, chat_id, command.contact, command.text)
        else:
            raise Unsupported(f"'{command.type}' is not available yet")

    parser = Parser(customer_commands, CUSTOMER_TYPES, settings.max_frame_bytes)
    try:
        await serve_frames(websocket, connection, parser, handle)
    finally:
        runtime.hub.unregister(address, connection)
        sender.cancel()
        with suppress(asyncio.CancelledError):
            await sender
        # Through the writer: when thousands of sockets drop at once (a restart, a network
        # blip) their bookkeeping is written in batches, not thousands of transactions at once.
        await bookkeep(
            lambda: runtime.writer.run(
                lambda work: runtime.chats.customer_left(work, chat_id), Touches(chat_id)
            ),
            f"customer_left:{chat_id}",
            settings.customer_grace_s,
        )

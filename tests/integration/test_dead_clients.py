"""Clients that die without a close frame, and faults of the server: what the other side sees.

The server pings every socket (``KEFU_WS_PING_INTERVAL_S``); one that does not answer within
``KEFU_WS_PING_TIMEOUT_S`` is closed and counts as gone, so its grace period starts. A fault in
a gateway closes the socket with 1011, not a dropped connection (1006).
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
from typing import Any

import pytest
import websockets
from sqlalchemy import select

from service.db.models import Chat, Message
from service.db.unit_of_work import Work
from tests.support.server import FACTOR, TIMEOUT, Server

PING_S = 0.3 * FACTOR
PONG_TIMEOUT_S = 0.5 * FACTOR
GRACE_S = 60.0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {
        "ws_ping_interval_s": PING_S,
        "ws_ping_timeout_s": PONG_TIMEOUT_S,
        "agent_grace_s": GRACE_S,
    }


class HangingClient:
    """A WebSocket client on a raw TCP stream that says hello, then never reads nor answers.

    What a browser tab looks like from the server when its machine sleeps or its network drops:
    no close frame, no FIN, no pong.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, server: Server, path: str) -> HangingClient:
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 101"), head
        return cls(reader, writer)

    def send(self, frame: dict[str, Any]) -> None:
        payload = json.dumps(frame).encode()
        mask = os.urandom(4)
        if len(payload) < 126:
            head = struct.pack("!BB", 0x81, 0x80 | len(payload))
        else:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, len(payload))
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.writer.write(head + mask + masked)

    def abandon(self) -> None:
        self.writer.transport.abort()


async def _wait_for(server: Server, query: Any, want: Any) -> None:
    deadline = time.monotonic() + TIMEOUT
    while (await server.rows(query)) != want:
        assert time.monotonic() < deadline, f"never {want}"
        await asyncio.sleep(0.02)


async def test_an_agent_whose_client_hangs_loses_its_chats_after_the_grace(
    server: Server,
) -> None:
    customer = await server.customer()
    await customer.expect("message", template="welcome")
    account = await server.new_agent("掉线", "6001")
    hanging = await HangingClient.connect(server, "/ws/agent")
    try:
        hanging.send({"type": "hello", "token": account["token"]})
        stopped = time.monotonic()  # it answers no ping from here on
        assigned = select(Chat.agent_id).where(Chat.id == customer.chat_id)
        await _wait_for(server, assigned, [account["id"]])
        await customer.until("assigned")
        # Another agent whose client answers pings stays, however quiet.
        live = await server.agent("在线", "6002")
        timer = await server.armed(f"agent_gone:{account['id']}")
        noticed_s = time.monotonic() - stopped
        print(f"\nhanging agent noticed after {noticed_s:.2f} s", end=" ")
        print(f"(ping every {PING_S} s, pong within {PONG_TIMEOUT_S} s)")
        assert noticed_s < PING_S + PONG_TIMEOUT_S + TIMEOUT
        assert (timer.due_at - server.clock.now()).total_seconds() == pytest.approx(GRACE_S, abs=1)

        await server.advance(GRACE_S + 1)
        moved = await customer.until("assigned")
        assert moved["agent"]["employee_no"] == "6002"
        await live.until("assigned", chat_id=customer.chat_id)
        told = select(Message.id).where(
            Message.chat_id == customer.chat_id, Message.template == "returned_to_queue"
        )
        assert len(await server.rows(told)) == 1, "the customer is told once"
        await server.advance(GRACE_S + 1)
        assert len(await server.rows(told)) == 1
    finally:
        hanging.abandon()


async def test_a_fault_outside_a_frame_closes_with_1011(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    account = await server.new_agent("故障", "6101")

    async def fault(work: Work, hello: Any) -> Any:
        raise RuntimeError("a bug in the hello")

    monkeypatch.setattr(server.runtime.chats, "agent_hello", fault)
    peer = await server.connect("/ws/agent")
    await peer.send(json.dumps({"type": "hello", "token": account["token"]}))
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(peer.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011, closed.value


async def test_a_fault_inside_a_frame_closes_with_1011(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # contract v1: a server fault closes the socket with 1011, never a dropped connection.
    customer = await server.customer()

    async def fault(work: Work, chat_id: int) -> None:
        raise RuntimeError("a bug in typing")

    monkeypatch.setattr(server.runtime.chats, "customer_typing", fault)
    await customer.send({"type": "typing"})
    with pytest.raises(websockets.ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(customer.ws.recv(), TIMEOUT)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011, closed.value

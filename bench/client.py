"""A lean WebSocket client for the load generator.

The generator does per message about what the server does (one frame in, three out on the
server; one out, three in here), so a generator as costly per frame as the server could never
load it. The handshake (and any socket that negotiated permessage-deflate) goes through
websockets' sans-I/O ``ClientProtocol``; after it, plain text frames are framed and parsed here
in a few lines, straight from the asyncio transport into a callback.

Client frames are masked with an all-zero key, so the payload goes out unchanged. RFC 6455 asks
for an unpredictable key (it protects intermediaries that might misread the bytes); on the
loopback between a benchmark and its own server there is no intermediary, and a server cannot
tell the difference.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ZERO_MASK = bytes(4)
OnText = Callable[["Peer", str], None]


class Peer(asyncio.Protocol):
    """One client socket; ``on_text(peer, text)`` is called for every text frame received."""

    def __init__(self, uri: str, on_text: OnText, *, deflate: bool = False) -> None:
        extensions = [ClientPerMessageDeflateFactory()] if deflate else None
        self.protocol = ClientProtocol(parse_uri(uri), extensions=extensions, max_size=2**22)
        self.on_text = on_text
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deflate_negotiated = False
        self.lean = False
        self.buffer = b""
        self.close_code: int | None = None
        # Free slots for the scenario that owns the peer.
        self.chat_id = 0
        self.token = ""
        self.agent_id = 0
        self.ready: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        self.protocol.send_request(self.protocol.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        if self.lean:
            self._parse(self.buffer + data if self.buffer else data)
            return
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self.on_text(self, bytes(event.data).decode())
                elif event.opcode is Opcode.CLOSE and self.close_code is None:
                    self.close_code = self.protocol.close_code
            elif isinstance(event, Response):
                if event.status_code == 101 and not self.opened.done():
                    self.deflate_negotiated = "permessage-deflate" in event.headers.get(
                        "Sec-WebSocket-Extensions", ""
                    )
                    self.opened.set_result(None)
                    # Plain frames from now on: parse them here (see the module docstring).
                    self.lean = not self.deflate_negotiated
        self._flush()
        if self.lean:
            rest = self.protocol.data_to_send()
            assert not rest, rest
            self._parse(bytes(self.protocol.reader.buffer))

    def _parse(self, buffer: bytes) -> None:
        pos, end = 0, len(buffer)
        while end - pos >= 2:
            length, head = buffer[pos + 1] & 0x7F, 2
            if length == 126:
                if end - pos < 4:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if end - pos < 10:
                    break
                length, head = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if end - pos < head + length:
                break
            opcode = buffer[pos] & 0x0F
            payload = buffer[pos + head : pos + head + length]
            pos += head + length
            if opcode == 1:
                self.on_text(self, payload.decode())
            elif opcode == 9:
                self._write(0x8A, payload)
            elif opcode == 8:
                self.close_code = int.from_bytes(payload[:2], "big") if payload else 1005
                self.lean = False
                if self.transport is not None:
                    self.transport.close()
                return
        self.buffer = buffer[pos:]

    def _write(self, first: int, payload: bytes) -> None:
        assert self.transport is not None
        length = len(payload)
        if length < 126:
            header = bytes((first, 0x80 | length))
        elif length < 65536:
            header = bytes((first, 0x80 | 126)) + length.to_bytes(2, "big")
        else:
            header = bytes((first, 0x80 | 127)) + length.to_bytes(8, "big")
        self.transport.write(header + ZERO_MASK + payload)

    def eof_received(self) -> bool | None:
        self.protocol.receive_eof()
        self._flush()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc or ConnectionError("closed before the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def send_text(self, text: str) -> None:
        if self.lean:
            self._write(0x81, text.encode())
            return
        self.protocol.send_text(text.encode())
        self._flush()

    def send(self, frame: dict[str, Any]) -> None:
        self.send_text(json.dumps(frame, ensure_ascii=False, separators=(",", ":")))

    def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        if self.lean:
            self._write(0x88, (1000).to_bytes(2, "big"))
            self.transport.close()
            return
        try:
            self.protocol.send_close(1000)
            self._flush()
        except Exception:
            pass
        self.transport.close()

    def _flush(self) -> None:
        assert self.transport is not None
        for data in self.protocol.data_to_send():
            if data:
                self.transport.write(data)
            elif self.transport.can_write_eof():
                self.transport.write_eof()


async def connect(uri: str, on_text: OnText, *, deflate: bool = False, timeout: float = 10) -> Peer:
    parts = urlsplit(uri)
    loop = asyncio.get_running_loop()
    _, peer = await asyncio.wait_for(
        loop.create_connection(
            lambda: Peer(uri, on_text, deflate=deflate),
            parts.hostname or "127.0.0.1",
            parts.port or 80,
        ),
        timeout,
    )
    await asyncio.wait_for(peer.opened, timeout)
    return peer

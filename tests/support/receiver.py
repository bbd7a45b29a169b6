"""A real HTTP receiver for webhook deliveries: a tiny asyncio server on a port of its own.

It can be down (the port reserved, nothing listening), come up, and answer with a status of
the test's choosing; it keeps every request it was sent.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from tests.support.server import free_socket


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    status: int = 200
    answer_headers: dict[str, str] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _server: asyncio.Server | None = None

    def __post_init__(self) -> None:
        if not self.port:
            with free_socket() as probe:  # reserved, then let go: "down" until started
                self.port = probe.getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/kefu"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {}
            for line in lines[1:]:
                name, sep, value = line.partition(":")
                if sep:
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.requests.append(Request(path, headers, body))
            head = f"HTTP/1.1 {self.status} X\r\nContent-Length: 0\r\nConnection: close\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in self.answer_headers.items())
            writer.write(head.encode() + b"\r\n")
            await writer.drain()
        finally:
            writer.close()

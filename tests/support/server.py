"""A real kefu server (uvicorn, real sockets, free port) and real WebSocket clients."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import uvicorn
import websockets
from sqlalchemy import Select, select
from websockets.asyncio.client import ClientConnection

from service.app import create_app
from service.clock import ManualClock
from service.db.models import Timer
from service.runtime import Runtime
from service.security import sign_player
from service.settings import Settings

FACTOR = float(os.environ.get("KEFU_TEST_TIMEOUT_FACTOR", "1"))
TIMEOUT = 5.0 * FACTOR
QUIET = 0.3 * FACTOR  # how long "nothing more arrives" is watched for
ADMIN_TOKEN = "test-admin-token"
T = TypeVar("T")
PLAYER_SECRET = "test-player-secret"
DATA_KEY = "dGVzdC1kYXRhLWtleS1vZi0zMi1ieXRlcy0wMTIzNDU="  # 32 bytes, url-safe base64


class Peer:
    """One real WebSocket client speaking contract v1."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, frame: dict[str, Any] | str) -> None:
        await self.ws.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        raw = await asyncio.wait_for(self.ws.recv(), timeout)
        frame = json.loads(raw)
        assert isinstance(frame, dict)
        return frame

    async def expect(self, type_: str, **fields: Any) -> dict[str, Any]:
        """The very next frame is of this type (and has these field values)."""
        frame = await self.recv()
        assert frame["type"] == type_, frame
        for name, value in fields.items():
            assert frame.get(name) == value, (name, frame)
        return frame

    async def until(self, type_: str, **fields: Any) -> dict[str, Any]:
        """Skip frames until one of this type with these fields arrives."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            frame = await self.recv(max(0.01, deadline - time.monotonic()))
            if frame["type"] == type_ and all(frame.get(k) == v for k, v in fields.items()):
                return frame

    async def quiet(self) -> None:
        """Nothing more arrives for a short while."""
        try:
            frame = await self.recv(QUIET)
        except TimeoutError:
            return
        raise AssertionError(f"unexpected frame {frame}")

    async def drain(self) -> list[dict[str, Any]]:
        """Every frame that arrives until the socket has been quiet for a short while."""
        frames = []
        while True:
            try:
                frames.append(await self.recv(QUIET))
            except TimeoutError:
                return frames

    async def quiet_for(self, type_: str) -> None:
        """No frame of this type arrives for a short while (others may)."""
        deadline = time.monotonic() + QUIET
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = await self.recv(left)
            except TimeoutError:
                return
            assert frame["type"] != type_, f"unexpected frame {frame}"

    async def closed_with(self) -> int | None:
        try:
            while True:
                await asyncio.wait_for(self.ws.recv(), TIMEOUT)
        except websockets.ConnectionClosed as exc:
            return exc.rcvd.code if exc.rcvd else None

    async def close(self) -> None:
        await self.ws.close()


class Customer(Peer):
    chat_id: int
    token: str

    async def say(self, text: str, client_id: str | None = None) -> dict[str, Any]:
        """Send a message and return its ack."""
        client_id = client_id or f"c{next(self.ids)}"
        await self.send({"type": "message", "client_id": client_id, "text": text})
        return await self.until("ack", client_id=client_id)


class Agent(Peer):
    info: dict[str, Any]

    async def say(self, chat_id: int, text: str, client_id: str | None = None) -> dict[str, Any]:
        client_id = client_id or f"a{next(self.ids)}"
        await self.send(
            {"type": "message", "chat_id": chat_id, "client_id": client_id, "text": text}
        )
        return await self.until("ack", client_id=client_id)


@dataclass
class Server:
    url: str
    runtime: Runtime
    clock: ManualClock
    http: httpx.AsyncClient
    peers: list[Peer] = field(default_factory=list)
    signed: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http", "ws", 1)

    async def connect(self, path: str, address: str | None = None) -> ClientConnection:
        """A socket; from ``address`` as a trusted proxy (127.0.0.1) tells it, if given."""
        headers = {"X-Forwarded-For": address} if address is not None else None
        return await websockets.connect(
            self.ws_url + path, open_timeout=TIMEOUT, additional_headers=headers
        )

    async def customer(
        self, *, ready: bool = True, address: str | None = None, **hello: Any
    ) -> Customer:
        """A customer socket after hello; with ``ready``, ready and welcome are consumed."""
        peer = Customer(await self.connect("/ws/customer", address))
        self.peers.append(peer)
        await peer.send({"type": "hello", **hello})
        if ready:
            frame = await peer.expect("ready")
            peer.chat_id, peer.token = frame["chat_id"], frame["resume_token"]
        return peer

    async def new_agent(self, name: str, employee_no: str, **fields: Any) -> dict[str, Any]:
        response = await self.http.post(
            "/api/v1/agents", json={"name": name, "employee_no": employee_no, **fields}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def agent(
        self,
        name: str = "小王",
        employee_no: str | None = None,
        *,
        role: str = "agent",
        **hello: Any,
    ) -> Agent:
        """A new agent account, signed in on a real socket, ``ready`` consumed.

        ``capacity``, ``role`` and ``groups`` (group names to join) set up the account.
        """
        account = {"capacity": hello.pop("capacity", 5), "role": role}
        groups = hello.pop("groups", ())
        created = await self.new_agent(name, employee_no or str(1000 + len(self.peers)), **account)
        for group in groups:
            await self.join(group, created["id"])
        return await self.agent_socket(created["token"], **hello)

    async def group(self, name: str, title: str | None = None) -> dict[str, Any]:
        response = await self.http.post("/api/v1/groups", json={"name": name, "title": title})
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def join(self, group: str, agent_id: int) -> None:
        response = await self.http.put(f"/api/v1/groups/{group}/agents/{agent_id}")
        assert response.status_code == 200, response.text

    async def supervisor(self, name: str = "主管", employee_no: str | None = None) -> Agent:
        """A supervisor on a socket, ``away`` so that no chats are routed to them."""
        return await self.agent(name, employee_no, role="supervisor", status="away")

    async def agent_socket(self, token: str, **hello: Any) -> Agent:
        peer = Agent(await self.connect("/ws/agent"))
        self.peers.append(peer)
        await peer.send({"type": "hello", "token": token, **hello})
        peer.info = await peer.expect("ready")
        peer.info["token"] = token
        return peer

    def player(
        self,
        player_id: str,
        name: str | None = None,
        tier: str | None = None,
        secret: str = PLAYER_SECRET,
    ) -> dict[str, Any]:
        # A signature opens one chat (the replay guard): each claim here is signed a second
        # further back, so two made at one clock reading still differ, as a backend's would.
        ts = int(self.clock.now().timestamp()) - next(self.signed) % 60
        sig = sign_player(secret, player_id, name, tier, ts)
        return {"id": player_id, "name": name, "tier": tier, "ts": ts, "sig": sig}

    async def armed(self, key: str) -> Timer:
        """Wait until the server has armed the timer ``key`` (sockets close asynchronously)."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            async with self.runtime.units.read() as session:
                timer = await session.scalar(select(Timer).where(Timer.key == key))
            if timer is not None:
                return timer
            assert time.monotonic() < deadline, f"timer {key} was never armed"
            await asyncio.sleep(0.01)

    async def leave(self, peer: Peer) -> None:
        """Drop a socket and wait for the server to start that side's grace period."""
        await peer.close()
        if isinstance(peer, Customer):
            await self.armed(f"customer_gone:{peer.chat_id}")
        elif isinstance(peer, Agent):
            await self.armed(f"agent_gone:{peer.info['agent']['id']}")

    async def rows(self, query: Select[tuple[T]]) -> list[T]:
        """What the database holds now (for checks that frames cannot show)."""
        async with self.runtime.units.read() as session:
            return list((await session.scalars(query)).all())  # type: ignore[arg-type]

    async def advance(self, seconds: float) -> int:
        """Move the clock and fire whatever timers fell due."""
        self.clock.advance(seconds)
        return await self.runtime.scheduler.run_due()


def free_socket() -> socket.socket:
    # IPPROTO_TCP spelled out: asyncio turns Nagle off (TCP_NODELAY) only on sockets whose
    # proto says TCP, and a socket made with proto 0 passes that on to every accepted one; two
    # frames in a row then reach the client 40 ms apart (Nagle meeting delayed ACKs).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "player_secret": PLAYER_SECRET,
        "hello_timeout_s": 1.0 * FACTOR,
        # The scenarios here mostly start from a chat an agent holds: routed at hello (the old
        # way, still a setting). The default, routing at the first message, has its own tests
        # (tests/integration/test_route_on_message.py) and runs in the browser tests.
        "route_on": "hello",
        # Uploads go to a folder of this test's own, never to var/media.
        "media_dir": tempfile.mkdtemp(prefix="kefu-media-"),
        # Tests open many sockets and send fast from 127.0.0.1, as the bench does; the limits
        # have their own tests (tests/integration/test_limits.py), from other addresses.
        "limits_exempt": "127.0.0.0/8,::1",
        # Contacts are sealed under it (service/privacy/contacts.py); PostgreSQL requires one.
        "data_key": DATA_KEY,
        **overrides,
    }
    return Settings(_env_file=None, **values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


@asynccontextmanager
async def running_server(
    settings: Settings, clock: ManualClock, *, run_scheduler: bool = False
) -> AsyncIterator[Server]:
    """A server on a free port; its timers fire on ``advance`` unless ``run_scheduler``."""
    app = create_app(settings, clock=clock, run_scheduler=run_scheduler)
    sock = free_socket()
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="on",
        ws_max_size=settings.max_frame_bytes * 4,
        ws_ping_interval=settings.ws_ping_interval_s,
        ws_ping_timeout=settings.ws_ping_timeout_s,
        forwarded_allow_ips=settings.trusted_proxies,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    deadline = time.monotonic() + TIMEOUT
    while not server.started:
        if task.done():
            task.result()
        assert time.monotonic() < deadline, "server did not start"
        await asyncio.sleep(0.01)
    port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=TIMEOUT) as http:
        running = Server(url, app.state.runtime, clock, http)
        try:
            yield running
        finally:
            for peer in running.peers:
                await peer.ws.close()
            server.should_exit = True
            await asyncio.wait_for(task, TIMEOUT * 2)
            sock.close()
            if settings.media_dir.name.startswith("kefu-media-"):
                shutil.rmtree(settings.media_dir, ignore_errors=True)

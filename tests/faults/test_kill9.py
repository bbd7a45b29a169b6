"""kill -9 (or SIGTERM) of one of two real ``python -m service serve`` processes, 100 chats.

Two server processes share the test's PostgreSQL database and a Redis of the test's own. 100
customers and 10 agents talk both ways, half of them on each process; one process is stopped
mid-conversation. Every client that was on it reconnects to the other and resumes (customers
with ``last_seq``, resending what was not acknowledged under the same ``client_id``); after
SIGTERM every one of them was told 1001 first. A tenth of the chats get no answer, so their
long-wait apology falls due after the stop. Afterwards: every acknowledged message is stored
exactly once with the seq its ack said, no chat has a seq gap, each unanswered chat got its
apology exactly once, every client resumed within 5 s, and once the dead process's heartbeat
has expired every socket count is exactly the sockets open, every chat still with its agent.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.models import Agent, Chat, ChatStatus, Message
from tests.support import processes
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.processes import ServeProcess, stop_all
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR

BOUND = 60 * FACTOR
CUSTOMERS = 100
AGENTS = 10
EVERY_S = 0.5  # each customer writes this often
BEFORE_KILL_S = 2.0
AFTER_KILL_S = 6.0  # long enough for the dead process's heartbeat to expire meanwhile
RESUME_WITHIN_S = 5.0
TTL_S = 3.0
LONG_WAIT_S = BEFORE_KILL_S + 1.5


def silent(chat_id: int) -> bool:
    """A tenth of the chats get no answer: their long-wait apology falls due after the stop."""
    return chat_id % 10 == 0


ADMIN = "kill9-admin-token-0123"


async def start(database_url: str, redis_url: str, log: Path) -> ServeProcess:
    return await processes.serve(
        database_url,
        redis_url,
        log,
        admin=ADMIN,
        KEFU_PROCESS_HEARTBEAT_S="0.5",
        KEFU_PROCESS_TTL_S=str(TTL_S),
        # Due after the stop for the chats nobody answers: the survivor's scheduler says it.
        KEFU_LONG_WAIT_S=str(LONG_WAIT_S),
    )


@dataclass
class World:
    servers: list[ServeProcess]
    dead: set[int] = field(default_factory=set)
    stop_at: float = 0.0
    resumes: list[float] = field(default_factory=list)
    # What each client is doing (name -> step, since when): printed when the bound is missed.
    steps: dict[str, tuple[str, float]] = field(default_factory=dict)
    closes: list[int | None] = field(default_factory=list)  # close codes seen on a drop
    # The clients of the stopped process that are signed in on the survivor (a customer whose
    # first hello the stop cut counts too: it never was on the stopped one, nor anywhere).
    back: set[str] = field(default_factory=set)

    homes: dict[str, int] = field(default_factory=dict)

    def step(self, client: str, what: str, home: int | None = None) -> None:
        self.steps[client] = (what, time.monotonic())
        if home is not None:
            self.homes[client] = home

    def missing(self) -> list[tuple[str, str, float]]:
        """The clients of a stopped process not back yet: name, what they do, for how long."""
        now = time.monotonic()
        return sorted(
            (name, self.steps[name][0], round(now - self.steps[name][1], 2))
            for name, home in self.homes.items()
            if home in self.dead and name not in self.back
        )

    def ready(self, client: str, home: int, on: ServeProcess) -> None:
        self.step(client, "got ready")
        if home in self.dead and on is not self.servers[home]:
            self.back.add(client)

    def alive(self, preferred: int) -> ServeProcess:
        index = preferred if preferred not in self.dead else 1 - preferred
        return self.servers[index]


async def connect(world: World, home: int, path: str) -> tuple[Any, ServeProcess]:
    """A socket to ``home``, or to the other process once ``home`` is dead (retried)."""
    deadline = time.monotonic() + RESUME_WITHIN_S * 2
    while True:
        server = world.alive(home)
        try:
            return await websockets.connect(server.ws + path, open_timeout=5), server
        except (OSError, EOFError, TimeoutError, websockets.InvalidHandshake):
            # Refused, or cut mid-handshake by the process dying under it: try again.
            assert time.monotonic() < deadline, "no process to reconnect to"
            await asyncio.sleep(0.05)


class CustomerClient:
    def __init__(self, world: World, home: int, number: int) -> None:
        self.world, self.home, self.number = world, home, number
        self.acks: dict[str, int] = {}
        self.last_seq = 0
        self.chat_id = 0
        self.token = ""
        self.ids = itertools.count(1)

    async def hello(self, resume: bool) -> Any:
        name = f"customer{self.number}"
        while True:
            self.world.step(name, "connecting", self.home)
            ws, on = await connect(self.world, self.home, "/ws/customer")
            hello: dict[str, Any] = {"type": "hello"}
            if resume:
                hello["resume"] = {"token": self.token, "last_seq": self.last_seq}
            try:
                self.world.step(name, "hello sent")
                await ws.send(json.dumps(hello))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 5 * FACTOR))
                    if frame["type"] == "ready":
                        self.world.ready(name, self.home, on)
                        self.chat_id, self.token = frame["chat_id"], frame["resume_token"]
                        return ws
                    self.world.step(name, f"got {frame['type']}")
            except websockets.ConnectionClosed as closed:
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)

    async def run(self) -> None:
        ws = await self.hello(resume=False)
        client_id: str | None = None
        while time.monotonic() < self.world.stop_at or client_id is not None:
            try:
                if client_id is None:
                    client_id = f"m{next(self.ids)}"
                    await asyncio.sleep(EVERY_S)
                await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": "问"}))
                while client_id is not None:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10 * FACTOR))
                    if frame["type"] == "message":
                        self.last_seq = max(self.last_seq, frame["seq"])
                    elif frame["type"] == "ack" and frame["client_id"] == client_id:
                        self.acks[client_id] = frame["seq"]
                        self.last_seq = max(self.last_seq, frame["seq"])
                        client_id = None
            except websockets.ConnectionClosed as closed:
                dropped = time.monotonic()
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                ws = await self.hello(resume=True)  # then the same client_id once more
                self.world.resumes.append(time.monotonic() - dropped)
        await ws.close()


class AgentClient:
    def __init__(self, world: World, home: int, account: dict[str, Any]) -> None:
        self.world, self.home = world, home
        self.id, self.token = account["id"], account["token"]
        self.acks: dict[tuple[int, str], int] = {}
        self.pending: dict[str, dict[str, Any]] = {}

    async def hello(self) -> Any:
        name = f"agent{self.id}"
        while True:
            self.world.step(name, "connecting", self.home)
            ws, on = await connect(self.world, self.home, "/ws/agent")
            try:
                self.world.step(name, "hello sent")
                await ws.send(json.dumps({"type": "hello", "token": self.token}))
                while json.loads(await asyncio.wait_for(ws.recv(), 5 * FACTOR))["type"] != "ready":
                    pass
                self.world.ready(name, self.home, on)
                return ws
            except websockets.ConnectionClosed as closed:
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)

    async def run(self) -> None:
        ws = await self.hello()
        quiet_after = self.world.stop_at + 2 * FACTOR
        while True:
            try:
                for frame in list(self.pending.values()):
                    await ws.send(json.dumps(frame))
                while True:
                    left = max(quiet_after - time.monotonic(), 0.5)
                    frame = json.loads(await asyncio.wait_for(ws.recv(), left))
                    if (
                        frame["type"] == "message"
                        and frame["sender"] == "customer"
                        and not silent(frame["chat_id"])
                    ):
                        chat_id, seq = frame["chat_id"], frame["seq"]
                        # One reply per customer line; a re-delivered line gets the same id.
                        reply = {
                            "type": "message",
                            "chat_id": chat_id,
                            "client_id": f"r{seq}",
                            "text": "答",
                        }
                        self.pending[f"{chat_id}:r{seq}"] = reply
                        await ws.send(json.dumps(reply))
                    elif frame["type"] == "ack":
                        key = f"{frame['chat_id']}:{frame['client_id']}"
                        self.pending.pop(key, None)
                        self.acks[(frame["chat_id"], frame["client_id"])] = frame["seq"]
            except TimeoutError:
                if time.monotonic() > quiet_after and not self.pending:
                    await ws.close()
                    return
            except websockets.ConnectionClosed as closed:
                dropped = time.monotonic()
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                ws = await self.hello()
                self.world.resumes.append(time.monotonic() - dropped)


@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGTERM], ids=["kill9", "sigterm"])
async def test_a_process_stopped_loses_nothing_acknowledged_and_clients_resume_on_the_other(
    stop: signal.Signals,
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    own_redis: RedisProcess,
    tmp_path: Path,
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("two processes share PostgreSQL")
    async with asyncio.timeout(BOUND):
        servers = [
            await start(database_url, own_redis.url, tmp_path / f"server{n}.log") for n in (0, 1)
        ]
        world = World(servers)
        try:
            await _scenario(world, database_url, stop)
            # The survivor logged no fault a client would have seen as 1011.
            survivor = (tmp_path / "server1.log").read_text(errors="replace")
            errors = [line for line in survivor.splitlines() if line.startswith("ERROR")]
            print(f"survivor's error lines: {len(errors)} {errors[:3]}")
            assert "socket.fault" not in survivor
        finally:
            await stop_all(servers)
            for n, which in enumerate(("stopped", "surviving")):
                text = (tmp_path / f"server{n}.log").read_text(errors="replace")
                faults = [line for line in text.splitlines() if line.startswith(("ERROR", "WARN"))]
                print(f"{which} process's error and warning lines:", *faults[:40], sep="\n  ")


async def _scenario(world: World, database_url: str, stop: signal.Signals) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=world.servers[0].url, headers=headers) as http:
        accounts = []
        for n in range(AGENTS):
            reply = await http.post(
                "/api/v1/agents",
                json={"name": f"坐席{n}", "employee_no": str(8000 + n), "capacity": 10},
            )
            assert reply.status_code == 201, reply.text
            accounts.append(reply.json())
    agents = [AgentClient(world, n % 2, account) for n, account in enumerate(accounts)]
    customers = [CustomerClient(world, n % 2, n) for n in range(CUSTOMERS)]
    started = time.monotonic()
    world.stop_at = started + BEFORE_KILL_S + AFTER_KILL_S
    agent_tasks = [asyncio.create_task(agent.run()) for agent in agents]
    await asyncio.sleep(0.5)  # every agent signed in before the chats open
    customer_tasks = [asyncio.create_task(customer.run()) for customer in customers]

    await asyncio.sleep(BEFORE_KILL_S)
    world.servers[0].process.send_signal(stop)
    world.dead.add(0)
    killed = time.monotonic()
    exact = asyncio.create_task(_exact_while_open(database_url, killed, world))
    await asyncio.gather(*customer_tasks, *agent_tasks)
    exact_s = await exact
    print(f"counts exact while every client was on the survivor: {exact_s:.1f} s after the stop")
    # TTL, one beat, one TTL of the survivor's own good beats at most, and the counting out.
    assert exact_s < TTL_S + 3 * FACTOR
    elapsed = time.monotonic() - started

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as db:
            rows = (
                await db.execute(select(Message.chat_id, Message.seq, Message.client_key))
            ).all()
            apologies = (
                await db.execute(
                    select(Message.chat_id, func.count())
                    .where(Message.template == "long_wait")
                    .group_by(Message.chat_id)
                )
            ).all()
            acked_customer = sum(len(c.acks) for c in customers)
            acked_agent = sum(len(a.acks) for a in agents)
            print(
                f"\n{CUSTOMERS} chats, {acked_customer} customer and {acked_agent} agent messages"
                f" acked in {elapsed:.1f} s ({(acked_customer + acked_agent) / elapsed:.0f}/s);"
                f" {len(world.resumes)} resumes after the kill, slowest"
                f" {max(world.resumes, default=0):.2f} s"
            )
            seqs: defaultdict[int, list[int]] = defaultdict(list)
            stored: dict[tuple[int, str], list[int]] = defaultdict(list)
            for chat_id, seq, key in rows:
                seqs[chat_id].append(seq)
                if key is not None:
                    stored[(chat_id, key)].append(seq)
            for chat_id, numbers in seqs.items():
                assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap in {chat_id}"
            for customer in customers:
                for client_id, seq in customer.acks.items():
                    assert stored[(customer.chat_id, f"customer:{client_id}")] == [seq]
            for agent in agents:
                for (chat_id, client_id), seq in agent.acks.items():
                    assert stored[(chat_id, f"agent:{agent.id}:{client_id}")] == [seq]
            codes = sorted(set(world.closes), key=str)
            print(f"{signal.Signals(stop).name}: close codes seen {codes}")
            quiet = [c.chat_id for c in customers if silent(c.chat_id)]
            said = dict(apologies)
            print(f"long-wait apologies in {len(quiet)} unanswered chats: {said}")
            assert quiet and all(said.get(chat_id) == 1 for chat_id in quiet), "once per wait"
            assert world.resumes, "clients on the stopped process resumed on the other"
            if stop == signal.SIGTERM:
                assert set(world.closes) == {1001}, "a graceful stop says 1001"
            assert max(world.resumes) < RESUME_WITHIN_S
            assert acked_customer > CUSTOMERS * (BEFORE_KILL_S + AFTER_KILL_S) / EVERY_S / 3

            # The dead process's sockets are counted out once its heartbeat expires; every
            # client has closed by now, so every count must come down to exactly 0, and no
            # chat has lost its agent (they all came back within the grace period).
            closed_s = time.monotonic() - killed
            expired_s = await _settled(engine, killed)
            print(
                f"every client closed {closed_s:.1f} s after the kill; counts exact"
                f" {expired_s:.1f} s after the kill (TTL {TTL_S} s)"
            )
            # (A chat whose first hello was cut by the stop has a twin the client opened again;
            # only the chats the clients hold count.)
            held = [customer.chat_id for customer in customers]
            chats = (
                await db.execute(select(Chat.status, Chat.agent_id).where(Chat.id.in_(held)))
            ).all()
            assert len(chats) == CUSTOMERS
            assert all(
                status == ChatStatus.assigned and agent is not None for status, agent in chats
            ), "every chat still with its agent"
    finally:
        await engine.dispose()


async def _settled(engine: Any, killed: float) -> float:
    deadline = time.monotonic() + (TTL_S + 10) * FACTOR
    while True:
        async with engine.connect() as db:
            agents = (
                await db.execute(select(Agent.connections).where(Agent.connections != 0))
            ).all()
            chats = (
                await db.execute(select(Chat.customer_sockets).where(Chat.customer_sockets != 0))
            ).all()
        if not agents and not chats:
            return time.monotonic() - killed
        assert time.monotonic() < deadline, f"counts left: agents {agents}, chats {chats}"
        await asyncio.sleep(0.2)


async def _exact_while_open(database_url: str, killed: float, world: World) -> float:
    """Seconds from the stop until every agent counts 1 socket and every chat with a customer
    on the survivor counts 1: the stopped process's share is gone, the survivor's is there."""
    moved = CUSTOMERS // 2 + AGENTS // 2
    while len(world.back) < moved:  # first every client of the stopped one is back
        now = time.monotonic()
        waiting = sorted(
            (what, round(now - since, 2))
            for what, since in world.steps.values()
            if what != "got ready"
        )
        assert now - killed < RESUME_WITHIN_S, (
            f"clients did not come back: {len(world.back)} of {moved},"
            f" closes {sorted(set(map(str, world.closes)))}; signing in: {waiting[:20]};"
            f" not back: {world.missing()[:20]}"
        )
        await asyncio.sleep(0.05)
    engine = create_async_engine(database_url)
    try:
        while True:
            async with engine.connect() as db:
                agents = (await db.execute(select(Agent.connections))).scalars().all()
                sockets = (
                    (
                        await db.execute(
                            select(Chat.customer_sockets).where(Chat.customer_sockets > 0)
                        )
                    )
                    .scalars()
                    .all()
                )
            if set(agents) == {1} and len(sockets) == CUSTOMERS and set(sockets) == {1}:
                return time.monotonic() - killed
            assert time.monotonic() - killed < AFTER_KILL_S, (agents, sorted(set(sockets)))
            await asyncio.sleep(0.1)
    finally:
        await engine.dispose()

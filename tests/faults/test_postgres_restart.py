"""PostgreSQL stopped (fast shutdown) and started again under two kefu processes and live chats.

A cluster of the test's own (``initdb`` in a temp dir, its own port) and a Redis of its own; two
real ``python -m service serve`` processes on them; customers and agents on both, talking both
ways. The cluster is stopped by its pid while they keep sending, then started again on the same
port and data. Afterwards:

- no ack went out for anything not stored: every acknowledged message is in the database once,
  with the seq its ack said, and no chat has a seq gap;
- a frame sent while the database was away got a typed ``unavailable`` error (protocol.md) and
  the client's resend (same ``client_id``) was stored once; a ``hello`` that met the outage was
  closed with 1011 and the client resumed;
- each process acknowledged again within 10 s of the database answering, and /readyz said 503
  ``unavailable`` during the outage and 200 after;
- presence counts are right: every agent counts its one socket and every chat its customer's
  while they are open, and 0 once everyone has left (a departure while the database was away is
  retried, never lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service.db.models import Agent, Chat, Message
from tests.support import processes
from tests.support.postgres_server import PostgresProcess
from tests.support.processes import ServeProcess, stop_all
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR

BOUND = 60 * FACTOR  # the whole test, start-up and both clusters' lives included
CUSTOMERS = 20
AGENTS = 4
EVERY_S = 0.2  # each customer writes this often
BEFORE_S = 2.0  # traffic before the stop
DOWN_S = 3.0  # the database away
AFTER_S = 3.0  # traffic after it is back
BACK_WITHIN_S = 10.0
BOUNCING = 4  # customers who leave and come back while the database is away
ADMIN = "pg-restart-admin-token-0123"


async def serve(database_url: str, redis_url: str, log: Path) -> ServeProcess:
    return await processes.serve(database_url, redis_url, log, admin=ADMIN)


@dataclass
class World:
    servers: list[ServeProcess]
    stop_at: float = 0.0
    down_at: float = 0.0  # the postmaster has exited
    up_at: float = 0.0  # it answers again
    unavailable: int = 0  # typed errors received
    resent_stored: int = 0  # acks for a frame that first got ``unavailable``
    reconnects: int = 0
    closes: list[int | None] = field(default_factory=list)
    acks_at: list[tuple[float, int]] = field(default_factory=list)  # (when, server index)
    # Frames sent and not yet answered (ack or error): key -> (server index, when sent). What is
    # left here when the test fails is the frame a process never answered.
    waiting: dict[str, tuple[int, float]] = field(default_factory=dict)

    def unanswered(self) -> list[tuple[str, int, float]]:
        now = time.monotonic()
        late = sorted(self.waiting.items(), key=lambda item: item[1][1])
        return [(key, home, round(now - sent, 1)) for key, (home, sent) in late[:10]]


async def connect(world: World, home: int, path: str) -> Any:
    deadline = time.monotonic() + BACK_WITHIN_S * 2 * FACTOR
    while True:
        try:
            return await websockets.connect(world.servers[home].ws + path, open_timeout=5)
        except (OSError, EOFError, TimeoutError, websockets.InvalidHandshake):
            assert time.monotonic() < deadline, "the process never took a socket again"
            await asyncio.sleep(0.1)


class Backoff:
    """What a well-behaved client does on ``unavailable``: wait a little longer each time."""

    def __init__(self) -> None:
        self.delay = 0.1

    async def wait(self) -> None:
        await asyncio.sleep(self.delay)
        self.delay = min(self.delay * 2, 1.0)

    def reset(self) -> None:
        self.delay = 0.1


class CustomerClient:
    def __init__(self, world: World, home: int) -> None:
        self.world, self.home = world, home
        self.acks: dict[str, int] = {}
        self.refused: set[str] = set()  # client_ids that got ``unavailable`` at least once
        self.last_seq = 0
        self.chat_id = 0
        self.token = ""
        self.ids = itertools.count(1)
        self.ws: Any = None
        self.bounce = False  # leave and come back (resume) before the next message

    async def hello(self, resume: bool) -> Any:
        backoff = Backoff()
        while True:
            ws = await connect(self.world, self.home, "/ws/customer")
            hello: dict[str, Any] = {"type": "hello"}
            if resume:
                hello["resume"] = {"token": self.token, "last_seq": self.last_seq}
            try:
                await ws.send(json.dumps(hello))
                while True:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 10 * FACTOR))
                    if frame["type"] == "ready":
                        self.chat_id, self.token = frame["chat_id"], frame["resume_token"]
                        return ws
            except websockets.ConnectionClosed as closed:
                # A hello that met the outage: 1011, reconnect with backoff.
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                await backoff.wait()

    async def run(self) -> None:
        ws = await self.hello(resume=False)
        backoff = Backoff()
        client_id: str | None = None
        while time.monotonic() < self.world.stop_at or client_id is not None:
            try:
                if client_id is None:
                    client_id = f"m{next(self.ids)}"
                    await asyncio.sleep(EVERY_S)
                if self.bounce:
                    # A departure while the database is away: its count must still come down,
                    # and the hello that follows is closed (1011) until the database is back.
                    self.bounce = False
                    await ws.close()
                    self.world.reconnects += 1
                    ws = await self.hello(resume=True)
                waiting = f"customer{id(self) % 10_000}:{client_id}"
                self.world.waiting[waiting] = (self.home, time.monotonic())
                await ws.send(json.dumps({"type": "message", "client_id": client_id, "text": "问"}))
                while client_id is not None:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 15 * FACTOR))
                    if frame["type"] == "error" or frame.get("client_id") == client_id:
                        self.world.waiting.pop(waiting, None)
                    if frame["type"] == "message":
                        self.last_seq = max(self.last_seq, frame["seq"])
                    elif frame["type"] == "ack" and frame["client_id"] == client_id:
                        self.acks[client_id] = frame["seq"]
                        self.last_seq = max(self.last_seq, frame["seq"])
                        self.world.acks_at.append((time.monotonic(), self.home))
                        self.world.resent_stored += client_id in self.refused
                        client_id = None
                        backoff.reset()
                    elif frame["type"] == "error":
                        assert frame["code"] == "unavailable", frame
                        assert frame.get("ref") == client_id, frame
                        self.world.unavailable += 1
                        self.refused.add(client_id)
                        await backoff.wait()
                        break  # the same client_id once more
            except websockets.ConnectionClosed as closed:
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                self.world.reconnects += 1
                ws = await self.hello(resume=True)  # then the same client_id once more
        self.ws = ws  # left open: the counts are checked while it is


class AgentClient:
    def __init__(self, world: World, home: int, account: dict[str, Any]) -> None:
        self.world, self.home = world, home
        self.id, self.token = account["id"], account["token"]
        self.acks: dict[tuple[int, str], int] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.ws: Any = None

    async def hello(self) -> Any:
        backoff = Backoff()
        while True:
            ws = await connect(self.world, self.home, "/ws/agent")
            try:
                await ws.send(json.dumps({"type": "hello", "token": self.token}))
                while json.loads(await asyncio.wait_for(ws.recv(), 10 * FACTOR))["type"] != "ready":
                    pass
                return ws
            except websockets.ConnectionClosed as closed:
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                await backoff.wait()

    async def run(self, done: asyncio.Event) -> None:
        """Answers every customer line; resends what got ``unavailable``; stays connected
        until ``done`` (the counts are checked while it is open)."""
        ws = self.ws = await self.hello()
        backoff = Backoff()
        while True:
            try:
                for key, frame in list(self.pending.items()):
                    self.world.waiting[f"agent{self.id}:{key}"] = (self.home, time.monotonic())
                    await ws.send(json.dumps(frame))
                while True:
                    try:
                        frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        if done.is_set() and not self.pending:
                            return
                        continue
                    if frame["type"] == "message" and frame["sender"] == "customer":
                        chat_id, seq = frame["chat_id"], frame["seq"]
                        reply = {
                            "type": "message",
                            "chat_id": chat_id,
                            "client_id": f"r{seq}",  # a re-delivered line gets the same id
                            "text": "答",
                        }
                        self.pending[f"{chat_id}:r{seq}"] = reply
                        self.world.waiting[f"agent{self.id}:{chat_id}:r{seq}"] = (
                            self.home,
                            time.monotonic(),
                        )
                        await ws.send(json.dumps(reply))
                    elif frame["type"] == "ack":
                        self.pending.pop(f"{frame['chat_id']}:{frame['client_id']}", None)
                        key = f"agent{self.id}:{frame['chat_id']}:{frame['client_id']}"
                        self.world.waiting.pop(key, None)
                        self.acks[(frame["chat_id"], frame["client_id"])] = frame["seq"]
                        self.world.acks_at.append((time.monotonic(), self.home))
                        backoff.reset()
                    elif frame["type"] == "error":
                        assert frame["code"] == "unavailable", frame
                        self.world.unavailable += 1
                        for key in self.pending:
                            self.world.waiting.pop(f"agent{self.id}:{key}", None)
                        await backoff.wait()
                        break  # resend every pending reply
            except websockets.ConnectionClosed as closed:
                self.world.closes.append(closed.rcvd.code if closed.rcvd else None)
                self.world.reconnects += 1
                ws = self.ws = await self.hello()


async def test_postgres_restart_loses_no_ack_and_service_comes_back(
    own_postgres: PostgresProcess, own_redis: RedisProcess, tmp_path: Path
) -> None:
    postgres = own_postgres
    servers: list[ServeProcess] = []
    world: World | None = None
    try:
        async with asyncio.timeout(BOUND):
            database_url = await postgres.create_database("kefu")
            for n in (0, 1):  # one after the other: the second finds the schema migrated
                servers.append(await serve(database_url, own_redis.url, tmp_path / f"kefu{n}.log"))
            engine = create_async_engine(database_url, pool_pre_ping=True)
            world = World(servers)
            try:
                await _scenario(world, postgres, engine)
            finally:
                await engine.dispose()
    finally:
        print(f"frames unanswered (who, server, seconds): {world.unanswered() if world else []}")
        await stop_all(servers)
        for n, server in enumerate(servers):
            faults = [line for line in server.log_lines() if line.startswith(("ERROR", "WARN"))]
            print(f"kefu{n}: {len(faults)} error and warning lines", *faults[:8], sep="\n  ")
    for server in servers:
        _outage_said_once(server.log_lines())


LOOPS = ("scheduler", "webhook", "presence.beat", "routing", "positions")


def _outage_said_once(lines: list[str]) -> None:
    """Each background loop said the outage once as it began and once as it ended, with the
    error's class, and never logged a traceback per tick."""
    said = {
        loop: (
            sum(f" {loop}.database_unavailable error=" in line for line in lines),
            sum(line.endswith(f" {loop}.database_back") for line in lines),
        )
        for loop in LOOPS
    }
    failed = [line for line in lines if any(f" {loop}.failed" in line for loop in LOOPS)]
    print(f"outage said per loop (unavailable, back): {said}; loop faults: {failed[:3]}")
    assert said["scheduler"] == (1, 1), said  # it polls every 0.5 s: it met the outage
    assert all(down == back and down <= 1 for down, back in said.values()), said
    assert failed == []


async def readiness(world: World, status: int, within: float) -> float:
    """Seconds until every process's /readyz answers ``status`` (bounded)."""
    started = time.monotonic()
    async with httpx.AsyncClient() as http:
        for server in world.servers:
            while True:
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(server.url + "/readyz", timeout=2)).status_code == status:
                        break
                assert time.monotonic() - started < within, f"/readyz never said {status}"
                await asyncio.sleep(0.05)
    return time.monotonic() - started


async def _scenario(world: World, postgres: PostgresProcess, engine: AsyncEngine) -> None:
    headers = {"Authorization": f"Bearer {ADMIN}"}
    async with httpx.AsyncClient(base_url=world.servers[0].url, headers=headers) as http:
        accounts = []
        for n in range(AGENTS):
            reply = await http.post(
                "/api/v1/agents",
                json={"name": f"坐席{n}", "employee_no": str(8100 + n), "capacity": 10},
            )
            assert reply.status_code == 201, reply.text
            accounts.append(reply.json())
    agents = [AgentClient(world, n % 2, account) for n, account in enumerate(accounts)]
    customers = [CustomerClient(world, n % 2) for n in range(CUSTOMERS)]
    done = asyncio.Event()
    started = time.monotonic()
    world.stop_at = started + BEFORE_S + DOWN_S + AFTER_S + 1
    agent_tasks = [asyncio.create_task(agent.run(done)) for agent in agents]
    await asyncio.sleep(0.5)  # every agent signed in before the chats open
    customer_tasks = [asyncio.create_task(customer.run()) for customer in customers]

    await asyncio.sleep(BEFORE_S)
    acked_before = len(world.acks_at)
    stopping = time.monotonic()
    await asyncio.to_thread(postgres.stop)
    world.down_at = time.monotonic()
    for customer in customers[:BOUNCING]:
        customer.bounce = True
    unavailable_s = await readiness(world, 503, 5 * FACTOR)
    await asyncio.sleep(max(0.0, DOWN_S - (time.monotonic() - world.down_at)))
    await asyncio.to_thread(postgres.start)
    world.up_at = time.monotonic()
    ready_s = await readiness(world, 200, BACK_WITHIN_S * FACTOR)

    # Every customer's last message acked (each resends until it is), then the counts.
    await asyncio.gather(*customer_tasks)
    await _counts_exact(engine, customers, want=1)
    done.set()
    await asyncio.gather(*agent_tasks)
    for client in [*agents, *customers]:
        await client.ws.close()
    elapsed = time.monotonic() - started

    # Nothing can be acked while the postmaster is gone (a little slack for acks in flight
    # when it exited); each process acked again within BACK_WITHIN_S of the database.
    in_outage = [at for at, _ in world.acks_at if world.down_at + 0.2 < at < world.up_at]
    back = [
        min((at for at, home in world.acks_at if home == n and at > world.up_at), default=None)
        for n in (0, 1)
    ]
    back_s = [None if at is None else at - world.up_at for at in back]

    async with engine.connect() as db:
        rows = (await db.execute(select(Message.chat_id, Message.seq, Message.client_key))).all()
    seqs: defaultdict[int, list[int]] = defaultdict(list)
    stored: defaultdict[tuple[int, str], list[int]] = defaultdict(list)
    for chat_id, seq, key in rows:
        seqs[chat_id].append(seq)
        if key is not None:
            stored[(chat_id, key)].append(seq)
    codes = sorted(set(world.closes), key=str)
    acked_customer = sum(len(c.acks) for c in customers)
    acked_agent = sum(len(a.acks) for a in agents)
    print(
        f"\npostgres restart: {CUSTOMERS} chats on 2 processes, {acked_customer} customer and"
        f" {acked_agent} agent messages acked in {elapsed:.1f} s ({acked_before} before the"
        f" stop); stop took {world.down_at - stopping:.2f} s, /readyz 503 within"
        f" {unavailable_s:.2f} s; down {world.up_at - world.down_at:.1f} s;"
        f" {world.unavailable} unavailable errors, {world.resent_stored} resent messages"
        f" stored, {world.reconnects} reconnects (close codes {codes});"
        f" acks during the outage {len(in_outage)}; first ack after the database per process"
        f" {back_s} s, /readyz 200 after {ready_s:.2f} s"
    )
    for chat_id, numbers in seqs.items():
        assert sorted(numbers) == list(range(1, len(numbers) + 1)), f"gap in {chat_id}"
    for customer in customers:
        for client_id, seq in customer.acks.items():
            assert stored[(customer.chat_id, f"customer:{client_id}")] == [seq], client_id
    for agent in agents:
        for (chat_id, client_id), seq in agent.acks.items():
            assert stored[(chat_id, f"agent:{agent.id}:{client_id}")] == [seq], client_id
    assert acked_before > CUSTOMERS, "messages were flowing before the stop"
    assert world.unavailable > 0, "frames sent during the outage got the typed error"
    assert world.resent_stored > 0, "and their resends were stored"
    assert not in_outage, "no ack while the database was away"
    assert all(s is not None and s < BACK_WITHIN_S for s in back_s), back_s
    assert world.reconnects >= BOUNCING
    assert 1011 in world.closes, "a hello that met the outage is closed with 1011"
    assert set(world.closes) <= {1011}, world.closes
    await _counts_exact(engine, customers, want=0)


async def _counts_exact(engine: AsyncEngine, customers: list[CustomerClient], want: int) -> None:
    """Every agent counts ``want`` sockets and every customer's chat ``want`` (bounded wait:
    departures are written asynchronously)."""
    held = [customer.chat_id for customer in customers]
    deadline = time.monotonic() + 5 * FACTOR
    while True:
        async with engine.connect() as db:
            agents = (await db.execute(select(Agent.connections))).scalars().all()
            chats = (
                (await db.execute(select(Chat.customer_sockets).where(Chat.id.in_(held))))
                .scalars()
                .all()
            )
        if set(agents) == {want} and len(chats) == len(held) and set(chats) == {want}:
            print(f"presence counts all {want} ({len(agents)} agents, {len(chats)} chats)")
            return
        assert time.monotonic() < deadline, (want, sorted(agents), sorted(chats))
        await asyncio.sleep(0.1)

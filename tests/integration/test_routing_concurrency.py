"""Routing under concurrency: two processes' worth of kefu hand out one line (issue #10 item 3).

No process-wide lock keeps routing apart any more: each routing pass takes the free agents'
rows and the planned chats' rows ``FOR UPDATE SKIP LOCKED`` (service/chats/routing.py
``drain``). Here two servers on one PostgreSQL database (separate pools, so truly concurrent
transactions) and one Redis take a burst of first messages at once: no chat is handed out twice,
no agent gets more than their capacity, and every seat is used while chats wait.
"""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import select

from service.db.models import Chat, ChatStatus
from tests.support.server import Customer, Server

AGENTS, CAPACITY, CHATS = 6, 3, 40


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"route_on": "message"}


async def test_a_burst_over_two_processes_fills_every_seat_once(
    server_pair: tuple[Server, Server],
) -> None:
    servers = server_pair
    one = servers[0]
    agents = [
        await servers[n % 2].agent(f"坐席{n}", str(7000 + n), capacity=CAPACITY)
        for n in range(AGENTS)
    ]
    customers: list[Customer] = []
    for n in range(CHATS):
        customer = await servers[n % 2].customer()
        await customer.expect("message", template="welcome")
        customers.append(customer)

    # Every customer writes at once, half on each process: the routing passes of both race.
    await asyncio.gather(*(customer.say("在吗?") for customer in customers))

    seats = AGENTS * CAPACITY
    assigned = await _settled(one, seats)
    per_agent = Counter(chat.agent_id for chat in assigned)
    assert len(assigned) == seats, per_agent
    assert max(per_agent.values()) == CAPACITY, per_agent
    assert len(per_agent) == AGENTS

    # Each agent was told of exactly the chats the database gives them, each once.
    for agent in agents:
        agent_id = agent.info["agent"]["id"]
        told: list[int] = []
        while len(told) < per_agent[agent_id]:
            frame = await agent.until("assigned")
            told.append(frame["chat_id"])
        assert sorted(told) == sorted(c.id for c in assigned if c.agent_id == agent_id)
        await agent.quiet_for("assigned")

    # A customer leaves: the freed seat goes to a chat still in line, once.
    agent = agents[0]
    held = next(c.id for c in assigned if c.agent_id == agent.info["agent"]["id"])
    leaving = next(c for c in customers if c.chat_id == held)
    await leaving.send({"type": "close"})
    frame = await agent.until("assigned")
    assert frame["chat_id"] not in {c.id for c in assigned}
    await agent.quiet_for("assigned")
    assert len(await _settled(one, seats)) == seats


async def _settled(server: Server, expected: int) -> list[Chat]:
    """The assigned chats once ``expected`` of them are (or the routing passes went quiet)."""
    assigned: list[Chat] = []
    for _ in range(200):
        assigned = await server.rows(select(Chat).where(Chat.status == ChatStatus.assigned))
        if len(assigned) >= expected:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # nothing more may arrive: over-assignment would show now
    return list(await server.rows(select(Chat).where(Chat.status == ChatStatus.assigned)))

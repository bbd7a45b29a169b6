"""Socket counts that cannot drift: many reconnects at once, over two processes' worth of kefu.

Each agent (and each customer) swaps sockets the way a flaky network makes a client do: a new
socket opens on the other process while the old one closes. Once the new one is ready the count
must read 1 or 2, never 0 (a 0 lets the grace timer take the agent's chats); it settles at 1;
and it is 0 for everyone once every socket has closed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.db.models import Agent, Chat
from tests.support.counts import Counts
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import TIMEOUT, Peer, Server, running_server, test_settings

AGENTS = 10
SWAPS = 15


@pytest.fixture
async def servers(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    redis_url: str,
    clock: ManualClock,
) -> AsyncIterator[tuple[Server, Server]]:
    """Two servers on one PostgreSQL database and one Redis; SQLite has one process: itself."""
    # Twenty sockets swapped at once in this one test process, both servers in it too: on a
    # loaded machine a hello may wait longer than the suite's 1 s before it is read.
    patient = {"hello_timeout_s": TIMEOUT}
    if isinstance(backend, SqliteTemplate):
        async with running_server(test_settings(database_url, **patient), clock) as one:
            yield one, one
        return
    settings = test_settings(database_url, redis_url=redis_url, **patient)
    async with running_server(settings, clock) as one, running_server(settings, clock) as two:
        yield one, two


async def _swap_agent(one: Server, two: Server, counts: Counts, token: str, agent_id: int) -> None:
    old: Peer = await one.agent_socket(token)
    await counts.settles("agent", agent_id, 1, floor=1)
    for swap in range(SWAPS):
        here = two if swap % 2 == 0 else one
        new, _ = await asyncio.gather(here.agent_socket(token), old.close())
        await counts.settles("agent", agent_id, 1, floor=1)
        old = new
    await old.close()
    await counts.settles("agent", agent_id, 0, floor=0)


async def _swap_customer(one: Server, two: Server, counts: Counts) -> None:
    old = await one.customer()
    chat_id, token = old.chat_id, old.token
    for swap in range(SWAPS):
        here = two if swap % 2 == 0 else one
        resume = {"token": token, "last_seq": 0}
        new, _ = await asyncio.gather(here.customer(resume=resume), old.close())
        await counts.settles("customer", chat_id, 1, floor=1)
        old = new
    await old.close()
    await counts.settles("customer", chat_id, 0, floor=0)


async def test_counts_are_right_at_every_swap_and_zero_after(
    servers: tuple[Server, Server],
) -> None:
    one, two = servers
    counts = Counts(one)
    accounts = [await one.new_agent(f"坐席{i}", str(7000 + i)) for i in range(AGENTS)]
    started = time.monotonic()
    await asyncio.gather(
        *(_swap_agent(one, two, counts, a["token"], a["id"]) for a in accounts),
        *(_swap_customer(one, two, counts) for _ in range(AGENTS)),
    )
    elapsed = time.monotonic() - started
    print(f"\n{2 * AGENTS} clients x {SWAPS} swaps in {elapsed:.1f} s;", end=" ")
    print(f"{len(counts.wrong)} wrong readings: {counts.wrong[:10]}")
    assert counts.wrong == []
    left = await one.rows(select(Agent.connections).where(Agent.connections != 0))
    assert left == []
    open_chats = await one.rows(select(Chat.customer_sockets).where(Chat.customer_sockets != 0))
    assert open_chats == []


TTL_S = 20.0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """``server_pair``'s heartbeats beat only when the test says (``heartbeat.once()``)."""
    return {"process_heartbeat_s": 3600, "process_ttl_s": TTL_S}


async def test_a_dead_process_s_sockets_are_counted_out_and_its_chats_return(
    server_pair: tuple[Server, Server],
) -> None:
    """Process two stops beating (as if killed): after the TTL process one counts its sockets
    out, so the agent's grace starts and their chats go back to the queue; process two's late
    closes (it was only stalled) change nothing, and its open sockets are counted in again."""
    one, two = server_pair
    counts = Counts(one)
    customer = await two.customer()
    account = await one.new_agent("断线", "7101")
    agent = await two.agent_socket(account["token"])
    await agent.until("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")
    assert (await counts.agent(account["id"]), await counts.customer(customer.chat_id)) == (1, 1)

    assert await one.runtime.heartbeat.once() == 0  # one beats; two is fresh
    one.clock.advance(TTL_S + 1)  # two has not beaten since: it is taken for dead
    assert await one.runtime.heartbeat.once() == 2
    assert (await counts.agent(account["id"]), await counts.customer(customer.chat_id)) == (0, 0)
    await one.armed(f"agent_gone:{account['id']}")
    await one.armed(f"customer_gone:{customer.chat_id}")
    metrics = (await one.http.get("/metrics")).text
    assert "kefu_processes_expired 1.0" in metrics and "kefu_processes 1.0" in metrics

    # The agent comes back on process one; the old socket on two closing late is not counted.
    back = await one.agent_socket(account["token"])
    assert await counts.agent(account["id"]) == 1
    await agent.close()
    await asyncio.sleep(0.3)
    assert await counts.agent(account["id"]) == 1
    await back.close()
    await counts.settles("agent", account["id"], 0, floor=0)

    # Process two beats again: its customer socket, still open, is counted in again.
    assert await two.runtime.heartbeat.once() == 0
    assert await counts.customer(customer.chat_id) == 1
    await customer.close()
    await counts.settles("customer", customer.chat_id, 0, floor=0)
    assert counts.wrong == []


async def test_after_a_database_outage_nobody_is_taken_for_dead_at_once(
    server_pair: tuple[Server, Server],
) -> None:
    """Every heartbeat is old when the database comes back: the first process to beat again
    waits one TTL of its own good beats, in which the others beat too, before expiring any."""
    one, two = server_pair
    customer = await two.customer()
    counts = Counts(one)
    one.runtime.heartbeat.beating_since = None  # as after a failed beat
    one.clock.advance(TTL_S + 1)  # the outage: nobody could beat
    assert await one.runtime.heartbeat.once() == 0
    assert await two.runtime.heartbeat.once() == 0
    one.clock.advance(TTL_S)
    assert await one.runtime.heartbeat.once() == 0, "two beat meanwhile: it is alive"
    assert await counts.customer(customer.chat_id) == 1

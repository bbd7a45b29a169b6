"""Redis stopped under a chat between two processes, then started again on the same port.

The bus carries wake-ups, never truth: while it is away every message is still acknowledged
and stored, the other process's sockets read it from the database, /readyz says degraded; once
Redis is back the processes resubscribe by themselves and live fan-out resumes.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.db.models import Message
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR, Server, running_server, test_settings

BOUND = 60 * FACTOR  # the whole test, outage and recovery included


async def readiness(server: Server, status: str) -> float:
    """Seconds until /readyz reports ``status`` (bounded)."""
    started = time.monotonic()
    while True:
        reply = await server.http.get("/readyz")
        body = reply.json()
        if body["status"] == status:
            assert reply.status_code == 200, body
            return time.monotonic() - started
        assert time.monotonic() - started < 10 * FACTOR, body
        await asyncio.sleep(0.05)


async def test_redis_outage_costs_latency_never_an_ack(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    clock: ManualClock,
    own_redis: RedisProcess,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("several processes share PostgreSQL, not an SQLite file")
    settings = test_settings(database_url, redis_url=own_redis.url, bus_poll_s=0.2)
    async with asyncio.timeout(BOUND):
        async with running_server(settings, clock) as one, running_server(settings, clock) as two:
            await _outage(one, two, own_redis)
    downs = [record for record in caplog.records if record.getMessage().startswith("bus.down")]
    assert len(downs) <= 2, "one line per process and outage, not one per message"


async def _outage(one: Server, two: Server, redis: RedisProcess) -> None:
    customer = await one.customer()
    await customer.expect("message", template="welcome")
    agent = await two.agent("远程", "5001")
    chat_id = customer.chat_id
    await agent.until("assigned", chat_id=chat_id)
    await customer.until("assigned")
    await customer.say("before")
    await agent.until("message", sender="customer", text="before")

    redis.stop()
    stopped = time.monotonic()
    acked = [await customer.say(f"during {n}") for n in range(3)]
    ack_s = time.monotonic() - stopped
    stored = await one.rows(select(Message.text).where(Message.chat_id == chat_id))
    assert {f"during {n}" for n in range(3)} <= set(stored)
    assert [ack["seq"] for ack in acked] == sorted(ack["seq"] for ack in acked)
    for n in range(3):
        await agent.until("message", sender="customer", text=f"during {n}")
    across_s = time.monotonic() - stopped
    await agent.say(chat_id, "reply while Redis is away")
    await customer.until("message", sender="agent", text="reply while Redis is away")
    degraded_s = max(await readiness(one, "degraded"), await readiness(two, "degraded"))
    metrics = (await one.http.get("/metrics")).text
    assert "kefu_bus_up 0.0" in metrics

    redis.start()
    restarted = time.monotonic()
    await readiness(one, "ok")
    await readiness(two, "ok")
    healthy_s = time.monotonic() - restarted
    # Typing is never filled from the database: only live fan-out carries it across.
    await customer.send({"type": "typing"})
    await agent.until("typing", chat_id=chat_id)
    await customer.say("after")
    await agent.until("message", sender="customer", text="after")
    assert "kefu_bus_up 1.0" in (await two.http.get("/metrics")).text
    print(
        f"redis outage: 3 acks in {ack_s:.2f}s, across from the database in {across_s:.2f}s,"
        f" degraded seen within {degraded_s:.2f}s; healthy {healthy_s:.2f}s after restart"
    )
    assert ack_s < 5 * FACTOR and across_s < 5 * FACTOR and healthy_s < 10 * FACTOR

"""Two deployments on one Redis (each with its own database): no frame crosses between them.

Both start with chat 1 and agent 1, so a shared channel would hand A's customer B's frames at
once (pub/sub ignores the Redis db number); each derives its own prefix from its database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from service.clock import ManualClock
from tests.support.databases import SqliteTemplate
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR, running_server, test_settings


@pytest.fixture
def databases(tmp_path: Path) -> tuple[str, str]:
    """Two deployments' own databases (SQLite files: each deployment is one process here)."""
    template = SqliteTemplate(tmp_path / "template")
    urls = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        urls.append(template.fresh(tmp_path / name))
    return urls[0], urls[1]


async def test_two_deployments_on_one_redis_see_no_frames_of_each_other(
    databases: tuple[str, str], own_redis: RedisProcess, clock: ManualClock
) -> None:
    a = test_settings(databases[0], redis_url=own_redis.url)
    b = test_settings(databases[1], redis_url=own_redis.url)
    assert a.bus_prefix != b.bus_prefix
    async with asyncio.timeout(60 * FACTOR):
        async with running_server(a, clock) as one, running_server(b, clock) as two:
            customer_a = await one.customer()
            customer_b = await two.customer()
            assert customer_a.chat_id == customer_b.chat_id  # same address on both sides
            agent_a = await one.agent("甲", "1001")
            agent_b = await two.agent("乙", "1001")
            await agent_a.until("assigned", chat_id=customer_a.chat_id)
            await agent_b.until("assigned", chat_id=customer_b.chat_id)
            await customer_a.until("assigned")
            await customer_b.until("assigned")
            await customer_a.drain()

            await agent_b.send({"type": "typing", "chat_id": customer_b.chat_id})
            await agent_b.say(customer_b.chat_id, "B 的秘密")
            await customer_b.until("message", sender="agent", text="B 的秘密")
            await customer_b.say("B 的客户")
            await agent_b.until("message", sender="customer", text="B 的客户")

            assert await customer_a.drain() == []
            assert await agent_a.drain() == []

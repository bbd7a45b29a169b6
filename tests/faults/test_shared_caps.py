"""Per-address caps hold across processes when Redis is configured (service/api/shared_caps.py),
and fall back to each process's own counts while Redis is away. The test starts its own
Redis and stops it by pid."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.clock import ManualClock
from tests.integration.test_limits import customer_from
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR, TIMEOUT, Server, running_server, test_settings

BOUND = 60 * FACTOR


async def counted_out(server: Server, address: str, held: int) -> None:
    deadline = time.monotonic() + TIMEOUT
    while server.runtime.limits.sockets.get(address, 0) != held:
        assert time.monotonic() < deadline, "the closed socket was never counted out"
        await asyncio.sleep(0.01)


async def test_an_address_caps_count_every_process_and_each_alone_while_redis_is_away(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    clock: ManualClock,
    own_redis: RedisProcess,
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("several processes share PostgreSQL, not an SQLite file")
    settings = test_settings(
        database_url,
        redis_url=own_redis.url,
        limits_exempt="",
        ip_max_sockets=3,
        ip_guest_chats_per_min=6,
    )
    async with asyncio.timeout(BOUND):
        async with running_server(settings, clock) as one, running_server(settings, clock) as two:
            # Sockets: two here and one there are the address's three; a fourth anywhere is not.
            a = "198.51.100.7"
            held = [await customer_from(one, a), await customer_from(one, a)]
            held.append(await customer_from(two, a))
            for server in (one, two):
                over = await customer_from(server, a, ready=False)
                assert await over.closed_with() == 4429
            await held[0].close()
            await counted_out(one, a, 1)
            await customer_from(two, a)  # the place freed on one is taken on two

            # Guest chats a minute: three here and three there are the address's six.
            b = "198.51.100.8"
            for n in range(6):
                chat = await customer_from(one if n % 2 else two, b)
                await chat.close()
                await counted_out(one if n % 2 else two, b, 0)
            late = await customer_from(one, b, ready=False)
            assert await late.closed_with() == 4429
            clock.advance(60)
            await customer_from(two, b)

            # Redis away: each process counts alone (an address may reach twice the cap),
            # and nothing waits for Redis longer than its short timeout.
            own_redis.stop()
            c = "198.51.100.9"
            started = time.monotonic()
            for server in (one, one, one, two, two, two):
                await customer_from(server, c)
            took = time.monotonic() - started
            over = await customer_from(one, c, ready=False)
            assert await over.closed_with() == 4429
    print(f"caps: six sockets opened in {took:.2f}s with Redis away")
    assert took < 5 * FACTOR

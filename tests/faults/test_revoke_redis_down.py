"""A token revoked while Redis is away still closes its holder's sockets on every process.

The bus carries ``signed_out`` to the other processes; with Redis stopped it reaches none of
them, and each process's sign-in sweep (service/tokens/sweep.py) finds the revocation in the
database within KEFU_SIGN_IN_CHECK_S (0.5 s). The test starts its own Redis and stops it by pid.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from service.clock import ManualClock
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR, Agent, Server, running_server, test_settings

WITHIN_S = 1.0 * FACTOR  # the bound: a revocation takes effect within a second
BOUND = 60 * FACTOR


async def closed_within(agent: Agent, reason: str) -> float:
    """Seconds until the socket gets ``signed_out`` (with ``reason``) and closes with 4403."""
    started = time.monotonic()
    frame = await agent.until("signed_out")
    assert frame["reason"] == reason, frame
    assert await agent.closed_with() == 4403
    return time.monotonic() - started


async def revoke(server: Server, agent: Agent) -> None:
    answer = await server.http.delete(f"/api/v1/agents/{agent.info['agent']['id']}/token")
    assert answer.status_code == 200, answer.text


async def test_a_revocation_closes_sockets_on_every_process_with_redis_up_or_down(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    clock: ManualClock,
    own_redis: RedisProcess,
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("several processes share PostgreSQL, not an SQLite file")
    settings = test_settings(database_url, redis_url=own_redis.url)
    async with asyncio.timeout(BOUND):
        async with running_server(settings, clock) as one, running_server(settings, clock) as two:
            # Redis up: the bus carries the frame across at once, with its precise reason.
            first = await two.agent("远程", "5001")
            await revoke(one, first)
            up_s = await closed_within(first, "token_revoked")

            second = await two.agent("远程二", "5002")
            disabled = await two.agent("远程三", "5003")
            own_redis.stop()
            stopped = time.monotonic()
            await revoke(one, second)
            down_s = await closed_within(second, "token_revoked")
            answer = await one.http.patch(
                f"/api/v1/agents/{disabled.info['agent']['id']}", json={"active": False}
            )
            assert answer.status_code == 200, answer.text
            disabled_s = await closed_within(disabled, "disabled")
            assert not two.runtime.bus.up, "the test means to revoke while the bus is away"
            # The old token signs in nowhere any more.
            again = await two.connect("/ws/agent")
            await again.send(f'{{"type": "hello", "token": "{second.info["token"]}"}}')
            with pytest.raises(Exception):  # noqa: B017  (closed, whatever the frame)
                while True:
                    await asyncio.wait_for(again.recv(), 5 * FACTOR)
            assert again.close_code in (4401, 4403)  # refused, as any unknown token
    print(
        f"revocation: closed in {up_s:.2f}s with Redis up, {down_s:.2f}s with it down"
        f" ({time.monotonic() - stopped:.1f}s into the outage); disabled in {disabled_s:.2f}s"
    )
    assert up_s < WITHIN_S and down_s < WITHIN_S and disabled_s < WITHIN_S

"""/readyz: ok while everything runs, 503 naming a background task that is dead."""

from __future__ import annotations

import asyncio
import time

from service.__main__ import healthcheck
from tests.support.redis_server import free_port
from tests.support.server import TIMEOUT, Server


async def test_ready_when_database_bus_and_tasks_run(server: Server) -> None:
    reply = await server.http.get("/readyz")
    assert reply.status_code == 200
    assert reply.json() == {"status": "ok", "database": "up", "bus": "up", "dead_tasks": []}
    assert "kefu_bus_up 1.0" in (await server.http.get("/metrics")).text


async def test_a_dead_background_task_makes_the_process_unready(server: Server) -> None:
    supervisor = server.runtime.supervisor
    supervisor.max_restarts, supervisor.backoff_s = 0, 0

    async def broken() -> None:
        raise RuntimeError("a fault of ours")

    supervisor.start("broken", broken)
    deadline = time.monotonic() + TIMEOUT
    while (reply := await server.http.get("/readyz")).status_code == 200:
        assert time.monotonic() < deadline, reply.json()
        await asyncio.sleep(0.01)
    assert reply.status_code == 503
    assert reply.json()["status"] == "unavailable"
    assert reply.json()["dead_tasks"] == ["broken"]
    assert "kefu_tasks_dead 1.0" in (await server.http.get("/metrics")).text


async def test_the_healthcheck_command_asks_the_configured_port(server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    settings = server.runtime.settings.model_copy(update={"host": "0.0.0.0", "port": port})
    assert await asyncio.to_thread(healthcheck, settings) == 0
    elsewhere = settings.model_copy(update={"port": free_port()})
    assert await asyncio.to_thread(healthcheck, elsewhere) == 1

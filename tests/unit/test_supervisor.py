"""The owner of background tasks: a crash is restarted, a loop that keeps crashing is dead."""

from __future__ import annotations

import asyncio

from service.supervisor import Supervisor


async def test_a_crashed_task_is_restarted() -> None:
    supervisor = Supervisor(backoff_s=0)
    runs = 0
    forever = asyncio.Event()

    async def flaky() -> None:
        nonlocal runs
        runs += 1
        if runs == 1:
            raise RuntimeError("first run fails")
        await forever.wait()

    supervisor.start("flaky", flaky)
    async with asyncio.timeout(5):
        while runs < 2:  # noqa: ASYNC110  (the supervisor offers no event to wait on)
            await asyncio.sleep(0)
    assert supervisor.restarts["flaky"] == 1 and not supervisor.dead
    await supervisor.stop(1)


async def test_a_task_that_keeps_crashing_is_left_dead() -> None:
    supervisor = Supervisor(max_restarts=2, backoff_s=0)

    async def broken() -> None:
        raise RuntimeError("always")

    supervisor.start("broken", broken)
    async with asyncio.timeout(5):
        while not supervisor.dead:  # noqa: ASYNC110
            await asyncio.sleep(0)
    assert supervisor.dead == {"broken"} and supervisor.restarts["broken"] == 2
    await supervisor.stop(1)


async def test_stop_is_bounded_even_for_a_task_that_ignores_cancel() -> None:
    supervisor = Supervisor()
    release = asyncio.Event()

    async def stubborn() -> None:
        while True:
            try:
                await release.wait()
                return
            except asyncio.CancelledError:
                continue

    supervisor.start("stubborn", stubborn)
    await asyncio.sleep(0)
    async with asyncio.timeout(2):
        await supervisor.stop(0.1)
    release.set()
    await asyncio.sleep(0.01)

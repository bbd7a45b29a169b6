"""The durable scheduler: timers survive restarts, fire once across processes, wake on time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from service.clock import ManualClock
from service.db.models import Message, Timer
from service.db.unit_of_work import Work
from service.runtime import Runtime
from service.templates import Catalog
from service.timers import arm
from service.timers.scheduler import Handler
from tests.integration.test_long_wait import served
from tests.support.server import TIMEOUT, running_server
from tests.support.server import test_settings as settings_for


@asynccontextmanager
async def runtime(
    database_url: str, clock: ManualClock, **settings: object
) -> AsyncIterator[Runtime]:
    """The resources of one kefu process, without its sockets (the scheduler is not running)."""
    config = settings_for(database_url, **settings)
    built = Runtime.build(config, clock, Catalog.load(config.phrases_dir))
    try:
        yield built
    finally:
        await built.database.dispose()


async def eventually(check: Callable[[], object]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not check():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.01)


async def test_a_timer_due_while_the_server_was_down_fires_once_after_restart(
    database_url: str, clock: ManualClock
) -> None:
    settings = settings_for(database_url)
    async with running_server(settings, clock) as before:
        _, customer = await served(before)
        await customer.say("充值没到账")  # the long-wait apology falls due at +60 s
        token, chat_id = customer.token, customer.chat_id

    clock.advance(61)  # nothing runs while the apology falls due

    async with running_server(settings, clock, run_scheduler=True) as after:
        back = await after.customer(resume={"token": token, "last_seq": 3})
        apology = await back.until("message", template="long_wait")
        assert apology["at"] == clock.now().isoformat().replace("+00:00", "Z")
        # Fired on start, once: nothing is left due, a later round fires nothing more.
        assert await after.runtime.scheduler.run_due() == 0
        query = select(func.count()).where(
            Message.chat_id == chat_id, Message.template == "long_wait"
        )
        assert await after.rows(query) == [1]


async def test_two_schedulers_over_one_database_fire_each_timer_exactly_once(
    database_url: str, clock: ManualClock
) -> None:
    keys = [f"probe:{n}" for n in range(200)]
    fired: list[tuple[int, str]] = []
    async with runtime(database_url, clock) as one, runtime(database_url, clock) as two:
        for number, instance in enumerate((one, two)):

            async def probe(work: Work, timer: Timer, number: int = number) -> None:
                # A round trip inside the claiming transaction, so the two interleave.
                await work.session.execute(select(1))
                fired.append((number, timer.key))

            instance.scheduler.register("probe", probe)
        async with one.units() as work:
            for key in keys:
                await arm(work, "probe", key, work.now)

        counts = await asyncio.gather(one.scheduler.run_due(), two.scheduler.run_due())

        assert sorted(key for _, key in fired) == sorted(keys)  # each once, none lost
        assert sum(counts) == len(keys)
        if one.database.is_postgres:
            # SKIP LOCKED: neither waits for the other's row, so both did part of the work.
            assert all(count > 0 for count in counts), counts
        async with one.units.read() as session:
            assert await session.scalar(select(func.count()).select_from(Timer)) == 0


async def test_a_timer_being_fired_does_not_hold_up_another_scheduler(
    database_url: str, clock: ManualClock
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has a single writer: one process fires timers at a time")
    async with runtime(database_url, clock) as one, runtime(database_url, clock) as two:
        inside, release = asyncio.Event(), asyncio.Event()
        fired: list[str] = []

        async def slow(work: Work, timer: Timer) -> None:
            inside.set()
            await release.wait()  # holds the claimed rows locked

        async def probe(work: Work, timer: Timer) -> None:
            fired.append(timer.key)

        one.scheduler.register("slow", slow)
        for instance in (one, two):
            instance.scheduler.register("probe", probe)
        keys = [f"probe:{n}" for n in range(100)]
        async with one.units() as work:
            await arm(work, "slow", "slow:1", work.now - timedelta(seconds=1))
            for key in keys:
                await arm(work, "probe", key, work.now)

        busy = asyncio.create_task(one.scheduler.run_due())
        await asyncio.wait_for(inside.wait(), TIMEOUT)
        # SKIP LOCKED: the other scheduler passes the locked rows and fires the rest.
        passed = await asyncio.wait_for(two.scheduler.run_due(), TIMEOUT)
        assert 0 < passed < len(keys)
        release.set()
        assert passed + await busy == len(keys) + 1
        assert sorted(fired) == sorted(keys)


async def test_a_timer_armed_sooner_than_the_next_poll_wakes_the_scheduler(
    database_url: str, clock: ManualClock
) -> None:
    async with runtime(database_url, clock, scheduler_poll_s=3600) as instance:
        fired = asyncio.Event()

        async def probe(work: Work, timer: Timer) -> None:
            fired.set()

        instance.scheduler.register("probe", probe)
        loop = asyncio.create_task(instance.scheduler.run())
        try:
            await eventually(lambda: instance.scheduler.asleep_until is not None)
            async with instance.units() as work:
                await arm(work, "probe", "probe:now", work.now)
            # Without the wake-up the loop would sleep for an hour.
            await asyncio.wait_for(fired.wait(), TIMEOUT)
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)


async def test_a_failing_timer_rolls_back_and_is_retried_with_backoff(
    database_url: str, clock: ManualClock
) -> None:
    async with runtime(database_url, clock) as instance:
        attempts: list[int] = []

        async def flaky(work: Work, timer: Timer) -> None:
            await arm(work, "side", "side-effect", work.now + timedelta(hours=1))
            attempts.append(timer.attempts)
            if len(attempts) < 3:
                raise RuntimeError("the handler failed")

        instance.scheduler.register("flaky", flaky)
        async with instance.units() as work:
            await arm(work, "flaky", "flaky:1", work.now)

        assert await instance.scheduler.run_due() == 0
        stored = await timers(instance)
        # Rolled back: the row is back, one attempt later, and the side effect is gone.
        assert [(t.key, t.attempts) for t in stored] == [("flaky:1", 1)]
        assert stored[0].due_at == clock.now() + timedelta(seconds=1)

        clock.advance(1)
        assert await instance.scheduler.run_due() == 0
        clock.advance(1)
        assert await instance.scheduler.run_due() == 0  # backing off: due 2 s after the failure
        clock.advance(1)
        assert await instance.scheduler.run_due() == 1
        assert attempts == [0, 1, 2]
        assert [t.key for t in await timers(instance)] == ["side-effect"]


async def due_in_a_row(
    instance: Runtime, clock: ManualClock, kind: str, handler: Handler, count: int
) -> None:
    """``count`` timers of ``kind`` (keys ``kind:0`` …), due a millisecond apart, all due now."""
    instance.scheduler.register(kind, handler)
    async with instance.units() as work:
        for n in range(count):
            await arm(work, kind, f"{kind}:{n}", work.now + timedelta(milliseconds=n))
    clock.advance(1)


async def timers(instance: Runtime) -> list[Timer]:
    async with instance.units.read() as session:
        return list((await session.scalars(select(Timer).order_by(Timer.key))).all())


async def test_a_timer_that_keeps_failing_is_dropped_after_five_attempts(
    database_url: str, clock: ManualClock
) -> None:
    async with runtime(database_url, clock) as instance:
        calls: list[int] = []

        async def broken(work: Work, timer: Timer) -> None:
            calls.append(timer.attempts)
            raise RuntimeError("always")

        instance.scheduler.register("broken", broken)
        async with instance.units() as work:
            await arm(work, "broken", "broken:1", work.now)
        for wait in (0, 1, 2, 4, 8):
            clock.advance(wait)
            assert await instance.scheduler.run_due() == 0
        assert calls == [0, 1, 2, 3, 4]
        assert await timers(instance) == []
        clock.advance(3600)
        await instance.scheduler.run_due()
        assert calls == [0, 1, 2, 3, 4]


async def test_one_failing_timer_in_a_batch_leaves_the_others_fired_once(
    database_url: str, clock: ManualClock
) -> None:
    """A batch fires together; when one handler fails it is fired again apart (a savepoint
    per timer): the others' work commits once, the failing one's is taken back, retried later."""
    async with runtime(database_url, clock) as instance:
        calls: list[str] = []

        async def handler(work: Work, timer: Timer) -> None:
            calls.append(timer.key)
            await arm(work, "done", f"done:{timer.key}", work.now + timedelta(hours=1))
            if timer.key == "batch:2" and timer.attempts == 0:
                raise RuntimeError("the handler failed")

        await due_in_a_row(instance, clock, "batch", handler, 5)
        assert await instance.scheduler.run_due() == 4
        # Together: 0, 1, 2 (failed); apart: 0, 1, then 3, 4 (2 is not run again this round).
        together, apart = ["batch:0", "batch:1", "batch:2"], ["batch:0", "batch:1", "batch:3"]
        assert calls == [*together, *apart, "batch:4"]
        stored = {t.key: t.attempts for t in await timers(instance)}
        assert stored == {
            "batch:2": 1,
            **{f"done:batch:{n}": 0 for n in (0, 1, 3, 4)},
        }
        clock.advance(1)
        assert await instance.scheduler.run_due() == 1
        assert "done:batch:2" in {t.key for t in await timers(instance)}


async def test_a_batch_whose_last_write_fails_is_fired_apart(
    database_url: str, clock: ManualClock
) -> None:
    """A failure only the unit's last write shows (here: a message row of a chat that does not
    exist) is no handler's: the batch is fired apart, and only the timer that added it fails."""
    async with runtime(database_url, clock) as instance:
        fired: list[str] = []

        async def handler(work: Work, timer: Timer) -> None:
            fired.append(timer.key)
            if timer.key == "late:1":
                work.session.add(Message(chat_id=10**9, seq=1, sender="system", text="x"))
            await arm(work, "done", f"done:{timer.key}", work.now + timedelta(hours=1))

        await due_in_a_row(instance, clock, "late", handler, 3)
        assert await instance.scheduler.run_due() == 2
        stored = {t.key: t.attempts for t in await timers(instance)}
        assert stored == {"late:1": 1, "done:late:0": 0, "done:late:2": 0}

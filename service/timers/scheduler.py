"""The durable scheduler.

A timer is a row (key, kind, due time, payload). It is armed or cancelled on the session of the
state change that causes it, so both commit together. The scheduler claims one due row at a
time by deleting it, runs the kind's handler in that same transaction, and commits: a timer
fires once, and one due while no process was running fires on the next start. The claim is a
write, ``DELETE … WHERE id = (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, so on PostgreSQL
several processes never take the same row and never wait for each other's, and on SQLite the
claim takes the write lock before it reads. A failing handler rolls back (the row comes back)
and the timer is retried with backoff.

The loop sleeps until the next due time, at most ``KEFU_SCHEDULER_POLL_S`` (timers armed by
other processes are found by polling); a unit that arms a timer sooner than that wakes it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from service.db.models import Timer
from service.unit import Units, Work

log = logging.getLogger(__name__)

Handler = Callable[[Work, Timer], Awaitable[None]]
MAX_ATTEMPTS = 5
# Shortest sleep between rounds: a row due but locked by another process is not spun on.
MIN_SLEEP_S = 0.01


async def arm(
    work: Work, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> None:
    """Arm (or re-arm) the timer named ``key``: one upsert on the unique key."""
    values = {
        "key": key,
        "kind": kind,
        "due_at": due_at,
        "payload": payload or {},
        "attempts": 0,
        "created_at": work.now,
    }
    insert = postgresql.insert if work.is_postgres else sqlite.insert
    statement = insert(Timer).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=[Timer.key],
        set_={name: statement.excluded[name] for name in values if name != "key"},
    )
    await work.session.execute(statement)
    work.timer_armed(due_at)


async def cancel(work: Work, key: str, *keys: str) -> None:
    if keys:
        await work.session.execute(delete(Timer).where(Timer.key.in_((key, *keys))))
    else:
        await work.session.execute(delete(Timer).where(Timer.key == key))


class Scheduler:
    def __init__(self, units: Units, poll_s: float) -> None:
        self._units = units
        self._poll_s = poll_s
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._sleeping_until: datetime | None = None
        units.on_timer_armed = self._armed

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def wake(self) -> None:
        self._wake.set()

    @property
    def asleep_until(self) -> datetime | None:
        """When the loop wakes next by itself; None while it is firing timers."""
        return self._sleeping_until

    def _armed(self, due_at: datetime) -> None:
        if self._sleeping_until is not None and due_at < self._sleeping_until:
            self._wake.set()

    async def run_due(self) -> int:
        """Fire every timer due by the clock's now; returns how many fired."""
        fired = 0
        while True:
            outcome = await self._fire_one()
            if outcome is None:
                return fired
            fired += outcome

    async def _fire_one(self) -> int | None:
        claimed: Timer | None = None
        try:
            async with self._units(exclusive=True) as work:
                claimed = await self._claim(work)
                if claimed is None:
                    return None
                handler = self._handlers.get(claimed.kind)
                if handler is None:
                    log.error("timer.unknown_kind kind=%s key=%s", claimed.kind, claimed.key)
                    return 0
                await handler(work, claimed)
                return 1
        except Exception:
            if claimed is None:
                raise
            log.exception("timer.failed kind=%s key=%s", claimed.kind, claimed.key)
            await self._retry_later(claimed)
            return 0

    async def _claim(self, work: Work) -> Timer | None:
        due = select(Timer.id).where(Timer.due_at <= work.now).order_by(Timer.due_at, Timer.id)
        due = due.limit(1)
        if work.is_postgres:
            due = due.with_for_update(skip_locked=True)
        row = (
            await work.session.execute(
                delete(Timer)
                .where(Timer.id == due.scalar_subquery())
                .returning(
                    Timer.id,
                    Timer.key,
                    Timer.kind,
                    Timer.due_at,
                    Timer.payload,
                    Timer.attempts,
                    Timer.created_at,
                )
                .execution_options(synchronize_session=False)
            )
        ).first()
        if row is None:
            return None
        # A detached copy: the row is gone, the handler only reads it.
        return Timer(**row._asdict())

    async def _retry_later(self, timer: Timer) -> None:
        """The handler failed and its unit rolled back, so the row is back: push it later."""
        async with self._units() as work:
            if timer.attempts + 1 >= MAX_ATTEMPTS:
                await work.session.execute(delete(Timer).where(Timer.id == timer.id))
                log.error("timer.dropped key=%s attempts=%s", timer.key, timer.attempts + 1)
                return
            await work.session.execute(
                update(Timer)
                .where(Timer.id == timer.id)
                .values(
                    attempts=timer.attempts + 1,
                    due_at=work.now + timedelta(seconds=2**timer.attempts),
                )
            )

    async def next_due(self) -> datetime | None:
        async with self._units.read() as session:
            due: datetime | None = await session.scalar(select(func.min(Timer.due_at)))
        return due

    async def _sleep(self) -> None:
        now = self._units.clock.now()
        until = now + timedelta(seconds=self._poll_s)
        # Set before looking: a timer armed while we look still wakes us.
        self._sleeping_until = until
        due = await self.next_due()
        if due is not None and due < until:
            until = self._sleeping_until = due
        delay = max(MIN_SLEEP_S, (until - now).total_seconds())
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            pass
        finally:
            self._sleeping_until = None

    async def run(self) -> None:
        """Fire due timers until cancelled; owned by the app's lifespan.

        The first round runs at once, so timers that fell due while no process ran fire on
        start.
        """
        while True:
            # Cleared before the round: a timer armed during it wakes the next sleep at once.
            self._wake.clear()
            try:
                await self.run_due()
                await self._sleep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduler.tick_failed")
                await asyncio.sleep(self._poll_s)

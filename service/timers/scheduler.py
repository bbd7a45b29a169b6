"""The durable scheduler.

A timer is a row (key, kind, due time, payload). It is armed or cancelled on the session of the
state change that causes it, so both commit together. The scheduler claims due rows by deleting
them, runs each kind's handler in that same transaction, and commits: a timer fires once, and
one due while no process was running fires on the next start. The claim is a write,
``DELETE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING``, so on PostgreSQL several
processes never take the same row and never wait for each other's, and on SQLite the claim
takes the write lock before it reads. A batch's handlers run one after another in that
transaction; if one fails, the batch is rolled back and fired again with each handler in a
savepoint: the failing one takes back only its own changes, and its timer is put back to be
retried with backoff.

Arming and cancelling are recorded on the unit and written at its end, once per key with the last
word winning (a message that re-arms a chat's timer many times in one batch costs one row).

The loop sleeps until the next due time, at most ``KEFU_SCHEDULER_POLL_S`` (timers armed by
other processes are found by polling); a unit that arms a timer sooner than that wakes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Delete, Insert, Table, bindparam, delete, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from service.db import new_messages
from service.db.models import Timer
from service.db.outage import Outage
from service.db.unit_of_work import Units, Work

log = logging.getLogger(__name__)

Handler = Callable[[Work, Timer], Awaitable[None]]
MAX_ATTEMPTS = 5
# PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race.
RACE_LOST = frozenset({"40P01", "40001"})
# Timers fired per transaction: one commit for many, while routing waits at most this many.
BATCH = 20
COLUMNS = (
    Timer.id,
    Timer.key,
    Timer.kind,
    Timer.due_at,
    Timer.payload,
    Timer.attempts,
    Timer.created_at,
)
# Shortest sleep between rounds: a row due but locked by another process is not spun on.
MIN_SLEEP_S = 0.01


TIMERS = cast(Table, Timer.__table__)
ARMED = ("kind", "due_at", "payload", "attempts", "created_at")


@functools.cache
def _upsert(is_postgres: bool) -> Insert:
    """INSERT … ON CONFLICT (key) DO UPDATE, built once per dialect (it is on every message)."""
    insert = (postgresql.insert if is_postgres else sqlite.insert)(TIMERS)
    return insert.on_conflict_do_update(
        index_elements=[TIMERS.c.key], set_={name: insert.excluded[name] for name in ARMED}
    )


_TIMER = inspect(Timer).class_manager


@functools.cache
def _claim_statement(is_postgres: bool) -> Delete:
    """Up to ``BATCH`` due timers, deleted and returned: the claim, built once per dialect."""
    due = (
        select(TIMERS.c.id)
        .where(TIMERS.c.due_at <= bindparam("b_now"))
        .order_by(TIMERS.c.due_at, TIMERS.c.id)
        .limit(BATCH)
    )
    if is_postgres:
        due = due.with_for_update(skip_locked=True)
    return (
        delete(TIMERS)
        .where(TIMERS.c.id.in_(due.scalar_subquery()))
        .returning(*(TIMERS.c[column.key] for column in COLUMNS))
    )


_CANCEL = delete(TIMERS).where(TIMERS.c.key.in_(bindparam("keys", expanding=True)))


async def arm(
    work: Work, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> None:
    """Arm (or re-arm) the timer named ``key``; written when the unit ends (``write``)."""
    work.timers[key] = {
        "key": key,
        "kind": kind,
        "due_at": due_at,
        "payload": payload or {},
        "attempts": 0,
        "created_at": work.now,
    }
    work.timer_armed(due_at)


async def cancel(work: Work, key: str, *keys: str) -> None:
    """Cancel the timers named; written when the unit ends (``write``)."""
    for name in (key, *keys):
        work.timers[name] = None


async def write(work: Work) -> None:
    """Write the unit's timers, the last word on each key: one delete, one upsert of many rows."""
    armed = [row for row in work.timers.values() if row is not None]
    cancelled = [key for key, row in work.timers.items() if row is None]
    work.timers.clear()
    if cancelled:
        await work.session.execute(_CANCEL, {"keys": cancelled})
    if armed:
        await work.session.execute(_upsert(work.is_postgres), armed)


class Scheduler:
    def __init__(self, units: Units, poll_s: float) -> None:
        self._units = units
        self._poll_s = poll_s
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()
        self._sleeping_until: datetime | None = None
        self._outage = Outage("scheduler", log)
        units.on_timer_armed = self._armed
        units.write_timers = write

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
            outcome = await self._fire_batch()
            if outcome is None:
                return fired
            fired += outcome

    async def _fire_batch(self) -> int | None:
        """Claim up to ``BATCH`` due timers and fire them in one transaction, one commit.

        All together first, no savepoint between them (two statements a timer saved); if any
        handler fails, the whole transaction rolls back, claim included, and the batch is fired
        again apart: a savepoint per timer, so only the failing one's changes are taken back and
        its timer is retried (``_fire``).
        """
        try:
            return await self._fire_together()
        except _HandlerFailed as failed:
            # That timer is not run again in this round: it failed once, it is retried later.
            log.info("timer.batch_apart cause=%s", type(failed.cause).__name__)
            return await self._fire_apart(failed)
        except Exception as exc:  # a write at the end: which handler's is not known
            log.info("timer.batch_apart cause=%s", type(exc).__name__)
            return await self._fire_apart(None)

    async def _fire_together(self) -> int | None:
        async with self._units() as work:
            claimed = await self._claim(work)
            if not claimed:
                return None
            fired: list[Timer] = []
            for timer in claimed:
                handler = self._handlers.get(timer.kind)
                if handler is None:
                    log.error("timer.unknown_kind kind=%s key=%s", timer.kind, timer.key)
                    continue
                try:
                    await handler(work, timer)
                except Exception as exc:
                    raise _HandlerFailed(timer, exc) from exc
                fired.append(timer)
        if self._units.metrics is not None:  # committed: counted once
            for timer in fired:
                self._units.metrics.count_timer(
                    timer.kind, (work.now - timer.due_at).total_seconds()
                )
        return len(fired)

    async def _fire_apart(self, failed: _HandlerFailed | None) -> int | None:
        async with self._units() as work:
            claimed = await self._claim(work)
            if not claimed:
                return None
            fired = 0
            for timer in claimed:
                if failed is not None and timer.id == failed.timer.id:
                    await self._failed(work, timer, failed.cause)
                else:
                    fired += await self._fire(work, timer)
            return fired

    async def _fire(self, work: Work, timer: Timer) -> int:
        handler = self._handlers.get(timer.kind)
        if handler is None:
            log.error("timer.unknown_kind kind=%s key=%s", timer.kind, timer.key)
            return 0
        sent, stored = len(work.outbox), new_messages.mark(work.session)
        try:
            # A savepoint per timer: a failing handler takes back only its own changes.
            async with work.session.begin_nested():
                await handler(work, timer)
                await self._units.flush(work)
        except Exception as exc:
            del work.outbox[sent:]
            new_messages.forget(work.session, stored)
            work.timers.clear()
            await self._failed(work, timer, exc)
            return 0
        if self._units.metrics is not None:
            late = (work.now - timer.due_at).total_seconds()
            self._units.metrics.count_timer(timer.kind, late)
        return 1

    async def _failed(self, work: Work, timer: Timer, exc: BaseException) -> None:
        """The timer's handler failed (its changes taken back): put it back to retry."""
        if _lost_a_race(exc):
            # PostgreSQL chose this savepoint as a deadlock's (or a serialization's) victim:
            # nothing wrong with the timer, so it is tried again soon and not counted toward
            # being dropped.
            log.info("timer.retried kind=%s key=%s cause=deadlock", timer.kind, timer.key)
            await self._retry_later(work, timer, counted=False)
            return
        if self._units.metrics is not None:
            self._units.metrics.count_timer(timer.kind, 0.0, failed=True)
        log.error("timer.failed kind=%s key=%s", timer.kind, timer.key, exc_info=exc)
        await self._retry_later(work, timer)

    async def _claim(self, work: Work) -> list[Timer]:
        rows = await work.session.execute(_claim_statement(work.is_postgres), {"b_now": work.now})
        # Detached copies, built as the ORM's load builds them: the rows are gone, handlers
        # only read them.
        timers = []
        for row in rows:
            timer = _TIMER.new_instance()
            timer.__dict__.update(row._mapping)
            timers.append(timer)
        return sorted(timers, key=lambda timer: (timer.due_at, timer.id))

    async def _retry_later(self, work: Work, timer: Timer, *, counted: bool = True) -> None:
        """Put the timer back, later; unless the handler's unit armed that key anew since."""
        attempts = timer.attempts + 1 if counted else timer.attempts
        if counted and attempts >= MAX_ATTEMPTS:
            log.error(
                "timer.dropped kind=%s key=%s attempts=%s", timer.kind, timer.key, MAX_ATTEMPTS
            )
            return
        insert = postgresql.insert if work.is_postgres else sqlite.insert
        await work.session.execute(
            insert(TIMERS)
            .values(
                key=timer.key,
                kind=timer.kind,
                due_at=work.now + timedelta(seconds=2**timer.attempts if counted else 0.2),
                payload=timer.payload,
                attempts=attempts,
                created_at=timer.created_at,
            )
            .on_conflict_do_nothing(index_elements=[TIMERS.c.key])
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
                self._outage.passed()
                await self._sleep()
            except Exception as exc:
                self._outage.failed(exc)
                await asyncio.sleep(self._poll_s)


class _HandlerFailed(Exception):
    """A handler failed while the batch fired together: which timer, and why."""

    def __init__(self, timer: Timer, cause: Exception) -> None:
        super().__init__(timer.key)
        self.timer = timer
        self.cause = cause


def _lost_a_race(exc: BaseException) -> bool:
    """Whether the database refused ``exc``'s statement only because of another transaction."""
    orig = getattr(exc, "orig", None)
    return (
        getattr(orig, "sqlstate", None) in RACE_LOST or getattr(orig, "pgcode", None) in RACE_LOST
    )

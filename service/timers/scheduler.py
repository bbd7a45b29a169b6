"""The durable scheduler.

A timer is a row (key, kind, due time, payload). It is armed or cancelled on the session of the
state change that causes it, so both commit together. The scheduler claims due rows one at a
time, runs the kind's handler in the same transaction that deletes the row, and commits: a timer
fires once, and one due while the process was down fires on the next start. On PostgreSQL the
claim is ``FOR UPDATE SKIP LOCKED``, so several processes never fire the same row.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update

from service.db.models import Timer
from service.unit import Units, Work

log = logging.getLogger(__name__)

Handler = Callable[[Work, Timer], Awaitable[None]]
MAX_ATTEMPTS = 5


async def arm(
    work: Work, kind: str, key: str, due_at: datetime, payload: dict[str, Any] | None = None
) -> None:
    """Arm (or re-arm) the timer named ``key``."""
    await cancel(work, key)
    work.session.add(
        Timer(key=key, kind=kind, due_at=due_at, payload=payload or {}, created_at=work.now)
    )


async def cancel(work: Work, key: str) -> None:
    await work.session.execute(delete(Timer).where(Timer.key == key))


class Scheduler:
    def __init__(self, units: Units, poll_s: float) -> None:
        self._units = units
        self._poll_s = poll_s
        self._handlers: dict[str, Handler] = {}
        self._wake = asyncio.Event()

    def register(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def wake(self) -> None:
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
        failed: tuple[int, int] | None = None
        try:
            async with self._units(exclusive=True) as work:
                query = (
                    select(Timer)
                    .where(Timer.due_at <= work.now)
                    .order_by(Timer.due_at, Timer.id)
                    .limit(1)
                )
                if work.is_postgres:
                    query = query.with_for_update(skip_locked=True)
                timer = (await work.session.scalars(query)).first()
                if timer is None:
                    return None
                failed = (timer.id, timer.attempts)
                await work.session.delete(timer)
                handler = self._handlers.get(timer.kind)
                if handler is None:
                    log.error("timer.unknown_kind kind=%s key=%s", timer.kind, timer.key)
                    return 0
                await handler(work, timer)
                return 1
        except Exception:
            if failed is None:
                raise
            log.exception("timer.failed id=%s", failed[0])
            await self._retry_later(*failed)
            return 0

    async def _retry_later(self, timer_id: int, attempts: int) -> None:
        async with self._units() as work:
            if attempts + 1 >= MAX_ATTEMPTS:
                await work.session.execute(delete(Timer).where(Timer.id == timer_id))
                log.error("timer.dropped id=%s attempts=%s", timer_id, attempts + 1)
                return
            await work.session.execute(
                update(Timer)
                .where(Timer.id == timer_id)
                .values(attempts=attempts + 1, due_at=work.now + timedelta(seconds=2**attempts))
            )

    async def run(self) -> None:
        """Poll for due timers until cancelled; owned by the app's lifespan."""
        while True:
            try:
                await self.run_due()
            except Exception:
                log.exception("scheduler.tick_failed")
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), self._poll_s)
            except TimeoutError:
                pass

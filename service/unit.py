"""The unit of work: one frame, one request or one timer is one transaction.

Services record state changes on ``work.session`` and the frames to deliver in ``work.outbox``;
the unit commits, and only then publishes the frames, so nothing is announced that a rollback
could take back (STYLE 3, 14).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.db.engine import Database
from service.realtime.bus import Bus, Envelope


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    is_postgres: bool
    outbox: list[Envelope] = field(default_factory=list)

    def send(self, to: str | Iterable[str], frame: dict[str, Any]) -> None:
        addresses = (to,) if isinstance(to, str) else tuple(to)
        if addresses:
            self.outbox.append(Envelope(addresses, frame))


class Units:
    """Opens units of work; ``exclusive`` ones (those that route chats) run one at a time here."""

    def __init__(self, database: Database, bus: Bus, clock: Clock) -> None:
        self.database = database
        self.bus = bus
        self.clock = clock
        self._routing = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self, *, exclusive: bool = False) -> AsyncIterator[Work]:
        guard: AbstractAsyncContextManager[Any] = self._routing if exclusive else nullcontext()
        async with guard:
            async with self.database.sessions() as session, session.begin():
                work = Work(session, self.clock.now(), self.database.is_postgres)
                yield work
        for envelope in work.outbox:
            await self.bus.publish(envelope)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.database.sessions() as session:
            yield session

"""The unit of work: one frame, one request or one timer is one transaction.

Services record state changes on ``work.session`` and the frames to deliver in ``work.outbox``;
the unit commits, and only then publishes the frames, so nothing is announced that a rollback
could take back (STYLE 3, 14).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from service.clock import Clock
from service.db.engine import Database
from service.db.models import Chat
from service.realtime.bus import Bus, Envelope

# Rules that ride along when routing hands a chat to an agent (the silent-agent timer).
AssignedHook = Callable[["Work", Chat], Awaitable[None]]


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    is_postgres: bool
    outbox: list[Envelope] = field(default_factory=list)
    on_assigned: Sequence[AssignedHook] = ()
    # The earliest due time of the timers armed in this unit: the scheduler may need waking.
    next_timer: datetime | None = None
    # What this transaction knows, shared by the units of one batch (service/writer.py): the
    # chats it has row-locked (their loaded objects are current) and the client keys it has
    # looked up or stored (chat id, key) -> seq, None when not stored.
    locked: set[int] = field(default_factory=set)
    stored_keys: dict[tuple[int, str], int | None] = field(default_factory=dict)

    def send(self, to: str | Iterable[str], frame: dict[str, Any]) -> None:
        addresses = (to,) if isinstance(to, str) else tuple(to)
        if addresses:
            self.outbox.append(Envelope(addresses, frame))

    def timer_armed(self, due_at: datetime) -> None:
        if self.next_timer is None or due_at < self.next_timer:
            self.next_timer = due_at

    async def assigned(self, chat: Chat) -> None:
        for hook in self.on_assigned:
            await hook(self, chat)


class Units:
    """Opens units of work; ``exclusive`` ones (those that route chats) run one at a time here."""

    def __init__(self, database: Database, bus: Bus, clock: Clock) -> None:
        self.database = database
        self.bus = bus
        self.clock = clock
        self.on_assigned: list[AssignedHook] = []
        # Told the earliest due time armed by each committed unit (the scheduler's wake-up).
        self.on_timer_armed: Callable[[datetime], None] | None = None
        self._routing = asyncio.Lock()

    @asynccontextmanager
    async def __call__(self, *, exclusive: bool = False) -> AsyncIterator[Work]:
        guard: AbstractAsyncContextManager[Any] = self._routing if exclusive else nullcontext()
        async with guard:
            async with self.database.sessions() as session, session.begin():
                work = self.work(session)
                yield work
        await self.committed(work)

    def work(self, session: AsyncSession, *, shared: Work | None = None) -> Work:
        """A unit on ``session``; one of a batch shares what the batch's transaction knows."""
        now, hooks = self.clock.now(), tuple(self.on_assigned)
        work = Work(session, now, self.database.is_postgres, on_assigned=hooks)
        if shared is not None:
            work.locked = shared.locked
            work.stored_keys = shared.stored_keys
        return work

    async def committed(self, work: Work) -> None:
        """The unit's transaction committed: wake the scheduler if need be, send the frames."""
        if work.next_timer is not None and self.on_timer_armed is not None:
            self.on_timer_armed(work.next_timer)
        for envelope in work.outbox:
            await self.bus.publish(envelope)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.database.sessions() as session:
            yield session

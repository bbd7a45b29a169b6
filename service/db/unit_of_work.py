"""The unit of work: one frame, one request or one timer is one transaction.

Services record state changes on ``work.session`` and the frames to deliver in ``work.outbox``;
the unit commits, and only then publishes the frames, so nothing is announced that a rollback
could take back (STYLE 3, 14).

What a unit writes goes to the database at its end, in as few statements as the ORM can: new
messages are not flushed one by one (a frame that shows a row's id is built after the commit,
``send`` takes a builder for it), and timers armed or cancelled are written once per key, the
last word winning (``service/timers``).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.base import instance_state
from sqlalchemy.orm.util import identity_key

from service.clock import Clock
from service.db import direct, new_messages
from service.db.engine import LAZY, Database
from service.db.models import Chat, Message
from service.metrics import DeskMetrics
from service.realtime.bus import Bus, Envelope
from service.realtime.events import Event

log = logging.getLogger(__name__)
T = TypeVar("T")

# A chat row changes with nearly every frame: its changes are written by Core, not the ORM.
direct.track(Chat)

# Rules that ride along when routing hands a chat to an agent (the silent-agent timer).
AssignedHook = Callable[["Work", Chat], Awaitable[None]]
# A frame (typed: service/realtime/events.py), or what builds it once the unit has committed
# (it shows ids the commit assigned).
Frame = Event | dict[str, Any] | Callable[[], Event | dict[str, Any]]


@dataclass(slots=True)
class Outgoing:
    to: tuple[str, ...]
    frame: Frame

    def built(self) -> dict[str, Any]:
        """The frame, its builder run once (after the commit: it shows ids the commit gave)."""
        if callable(self.frame):
            self.frame = self.frame()
        if isinstance(self.frame, Event):
            self.frame = self.frame.frame()
        return self.frame

    def envelope(self) -> Envelope:
        return Envelope(self.to, self.built())


@dataclass
class Work:
    session: AsyncSession
    now: datetime
    is_postgres: bool
    outbox: list[Outgoing] = field(default_factory=list)
    on_assigned: Sequence[AssignedHook] = ()
    # The earliest due time of the timers armed in this unit: the scheduler may need waking.
    next_timer: datetime | None = None
    # What this transaction knows, shared by the units of one batch
    # (service/db/group_commit.py): the chats it has row-locked (their loaded objects are
    # current) and the client keys it has looked up or stored (chat id, key) -> seq, None when
    # not stored.
    locked: set[int] = field(default_factory=set)
    stored_keys: dict[tuple[int, str], int | None] = field(default_factory=dict)
    # SQLite: where new messages get their id (see RowIds); PostgreSQL: the insert returns it.
    message_ids: RowIds | None = None
    # Timers armed (their row) or cancelled (None) by key, written at the end of the unit.
    timers: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    # The line for agents moved: places are announced after the commit (routing.positions_pass).
    queue_moved: bool = False
    # Chats joined the line: the routing pass runs after the commit (routing.join_line).
    route_due: bool = False
    # Webhook events raised by name (service/webhooks turns them into outbox rows before the
    # commit; the rows it watches, new chats or messages, it finds by itself).
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def event(self, name: str, data: dict[str, Any]) -> None:
        self.events.append((name, data))

    def held(self, model: type[T], id_: int) -> T | None:
        """The object of ``model`` with this id if the unit's session holds it, fully loaded."""
        found = self.session.sync_session.identity_map.get(identity_key(model, id_))
        if isinstance(found, model) and not instance_state(found).expired_attributes:
            return found
        return None

    async def get(self, model: type[T], id_: int) -> T | None:
        """``session.get``, answered from the identity map when the unit holds the row (the
        writer's batch loaded it): the ORM's get costs a greenlet and its loader's round even
        then."""
        found = self.held(model, id_)
        return found if found is not None else await self.session.get(model, id_)

    async def get_one(self, model: type[T], id_: int) -> T:
        """``session.get_one``, as ``get``."""
        found = self.held(model, id_)
        return found if found is not None else await self.session.get_one(model, id_)

    def send(self, to: str | Iterable[str], frame: Frame) -> None:
        addresses = (to,) if isinstance(to, str) else tuple(to)
        if addresses:
            self.outbox.append(Outgoing(addresses, frame))

    def frames_to(self, address: str, type_: str) -> list[dict[str, Any]]:
        """The frames of one type this unit sends to ``address`` (built once it has committed)."""
        frames = (outgoing.built() for outgoing in self.outbox if address in outgoing.to)
        return [frame for frame in frames if frame.get("type") == type_]

    def timer_armed(self, due_at: datetime) -> None:
        if self.next_timer is None or due_at < self.next_timer:
            self.next_timer = due_at

    async def assigned(self, chat: Chat) -> None:
        for hook in self.on_assigned:
            await hook(self, chat)


class RowIds:
    """Ids of one table handed out by this process (SQLite only).

    SQLite cannot return the ids of a multi-row insert in order, so the ORM would insert a batch's
    messages one statement at a time; with the ids given beforehand they go in one executemany.
    The embedded default is one process with one connection, the only writer, so counting on
    from the table's largest id is safe; a transaction that rolls back leaves a gap in the ids,
    nothing else.
    """

    def __init__(self, column: Any) -> None:
        self._column = column
        self._next = 1
        self._counted = False

    async def take(self, session: AsyncSession) -> int:
        if not self._counted:
            largest = await session.scalar(select(func.max(self._column)))
            # Never below an id already handed out: a unit may still hold it uncommitted.
            self._next = max(self._next, (largest or 0) + 1)
            self._counted = True
        taken, self._next = self._next, self._next + 1
        return taken

    def forget(self) -> None:
        """Count from the table again next time (after a rollback, whatever caused it)."""
        self._counted = False


class Units:
    """Opens units of work. None waits for another here: what must not happen twice at once is
    kept apart by the database (row locks on PostgreSQL, the one connection on SQLite)."""

    def __init__(
        self, database: Database, bus: Bus, clock: Clock, metrics: DeskMetrics | None = None
    ) -> None:
        self.database = database
        self.bus = bus
        self.clock = clock
        self.metrics = metrics
        self.on_assigned: list[AssignedHook] = []
        # Told the earliest due time armed by each committed unit (the scheduler's wake-up).
        self.on_timer_armed: Callable[[datetime], None] | None = None
        # Writes a unit's pending timers (service/timers sets it).
        self.write_timers: Callable[[Work], Awaitable[None]] = _no_timers
        # Told after a unit that moved the line has committed (the positions pass's poke).
        self.on_queue_moved: Callable[[], None] | None = None
        # Told after a unit that put chats in line has committed (the routing pass's poke).
        self.on_route_due: Callable[[], None] | None = None
        # Told of each unit as it starts, and before its last flush (the webhook outbox's
        # hooks: it watches what the unit writes and adds its rows to the same transaction).
        self.on_begin: Callable[[Work], None] | None = None
        self.on_flush: Callable[[Work], Awaitable[None]] | None = None
        self.message_ids = None if database.is_postgres else RowIds(Message.id)

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Work]:
        async with self.transaction() as work:
            yield work
        await self.committed(work)

    @asynccontextmanager
    async def transaction(self, *, durable: bool = True) -> AsyncIterator[Work]:
        """A session in a transaction that writes what is pending and commits on leaving.

        The caller publishes (``committed``) once it is out; the writer runs several units in
        one of these (``work(session, shared=…)``).

        Not ``durable`` (SQLite only; PostgreSQL's commit waits for its disk in its own
        process): the commit returns before the disk has it, and is on the disk with the next
        durable commit. For a unit that acknowledges nothing a client wrote (a customer's
        hello): the fsync is a third of its time on the loop, and a chat whose customer has
        written is on the disk by that message's ack at the latest.
        """
        try:
            async with self.database.sessions() as session, session.begin():
                if not durable and not self.database.is_postgres:
                    raw = await (await session.connection()).get_raw_connection()
                    if raw.driver_connection is not None:
                        raw.driver_connection.set_synchronous(LAZY)
                work = self.work(session)
                yield work
                await self.flush(work)
        except BaseException:
            if self.message_ids is not None:
                self.message_ids.forget()
            raise

    def work(self, session: AsyncSession, *, shared: Work | None = None) -> Work:
        """A unit on ``session``; one of a batch shares what the batch's transaction knows."""
        now, hooks = self.clock.now(), tuple(self.on_assigned)
        work = Work(session, now, self.database.is_postgres, on_assigned=hooks)
        work.message_ids = self.message_ids
        if shared is not None:
            work.locked = shared.locked
            work.stored_keys = shared.stored_keys
            work.timers = shared.timers
            work.events = shared.events
        if self.on_begin is not None:
            self.on_begin(work)
        return work

    async def flush(self, work: Work) -> None:
        """Write what the unit has left pending (its timers, then its rows); before the commit."""
        if direct.changed(work.session):  # the chats' changes by Core (service/db/direct.py)
            await work.session.run_sync(direct.write_changes)
        if work.timers:
            await self.write_timers(work)
        await new_messages.write(work.session)
        if self.on_flush is not None:
            await self.on_flush(work)
        await work.session.flush()

    async def committed(self, work: Work) -> None:
        """The unit's transaction committed: wake the scheduler if need be, send the frames."""
        if work.next_timer is not None and self.on_timer_armed is not None:
            self.on_timer_armed(work.next_timer)
        if work.queue_moved and self.on_queue_moved is not None:
            self.on_queue_moved()
        if work.route_due and self.on_route_due is not None:
            self.on_route_due()
        metrics = self.metrics
        for outgoing in work.outbox:
            # After the commit nothing may fail the unit: a lost frame is filled from the store.
            try:
                envelope = outgoing.envelope()
                if metrics is not None:
                    metrics.count_event(str(envelope.frame.get("type")))
                await self.bus.publish(envelope)
            except Exception:
                if metrics is not None:
                    metrics.publish_failures.inc()
                log.exception("unit.publish_failed")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        async with self.database.sessions() as session:
            yield session


async def _no_timers(work: Work) -> None:
    raise RuntimeError("timers armed, but no scheduler writes them")

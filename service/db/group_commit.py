"""Group commit: the units of work of many frames, stored in one transaction.

Every message a socket sends is a unit of work (service/db/unit_of_work.py): its own transaction
and commit. One commit per message caps a process at a few hundred messages a second, so the
frames that only store (messages, quick replies, notes, corrections) go through this writer
instead. It takes every unit that queued while the previous batch was committing and runs them,
in arrival order, one after another on one session, each with its own ``Work`` and outbox, and
commits once. The same service code runs as in a unit of its own, every rule and hook included
(reply timing, the taboo-phrase guard, keyword drafts, timers); only the commit is shared.
Nothing is waited on: an idle server writes a lone message at once, a busy one writes bigger
batches.

- Acknowledged means committed: a caller's result is handed back, and its frames published,
  only after the batch commits. Publishing can fail (Redis away): the ack still goes out, the
  message is stored, and the hubs fill it from the database (service/realtime/hub.py).
- Before the units run, the batch loads what they are about to read: the chats they write to
  (on PostgreSQL locked ``FOR UPDATE`` in id order, so two processes' batches never deadlock
  on them) and the client keys they check for resends (one statement on PostgreSQL), and
  their agents.
- If any unit of a batch fails, the transaction rolls back and every unit of the batch is run
  again in a unit of its own, as if there were no writer: the failing one gets its error, the
  others are stored. Bad input costs a replay, never a lost or doubled message (a resend of a
  stored ``client_id`` is acknowledged with its first seq).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, select

from service.db import direct
from service.db.models import Agent, Chat, Message
from service.db.unit_of_work import Units, Work

log = logging.getLogger(__name__)

T = TypeVar("T")
Step = Callable[[Work], Awaitable[T]]
# Told a unit's result once it has committed, before its frames go out: the sender's ack comes
# before the echo of its own message, as with a unit of its own.
Acked = Callable[[T], None]

# Units per transaction: enough to amortise the commit, few enough to keep the locks short.
MAX_BATCH = 256
# SQLite: a batch this small loads its chats and client keys in one statement (a bigger one in
# two: the join measured slower there in the bench's ladder).
JOIN_BELOW = 8


@dataclass(frozen=True)
class Touches:
    """What a unit is about to read, so the batch can load it for all units at once."""

    chat_id: int
    client_key: str | None = None
    agent_id: int | None = None


@dataclass
class _Item(Generic[T]):
    step: Step[T]
    touches: Touches
    done: asyncio.Future[T]
    acked: Acked[T] | None


@dataclass
class WriterStats:
    batches: int = 0
    replays: int = 0
    largest: int = 0


class GroupCommit:
    def __init__(self, units: Units, *, max_batch: int = MAX_BATCH) -> None:
        self.units = units
        self.metrics = units.metrics
        self.max_batch = max_batch
        self.stats = WriterStats()
        self._pending: list[_Item[Any]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopped = False

    async def run(
        self,
        step: Step[T],
        touches: Touches,
        *,
        acked: Acked[T] | None = None,
    ) -> T:
        """Run ``step`` in a unit of work; its result once that unit has committed.

        Its time to the result is an ack's (``kefu_ack_seconds``).
        """
        if self._stopped:
            return await _alone(self.units, step, acked)
        self._start()
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append(_Item(step, touches, done, acked))
        self._wake.set()
        started = time.perf_counter()
        # Shielded: a caller that goes away (its socket closed) does not take the batch with it;
        # its unit still commits, unacknowledged, and a resend finds it.
        result = await asyncio.shield(done)
        if self.metrics is not None:
            self.metrics.ack_seconds.observe(time.perf_counter() - started)
        return result

    def _start(self) -> None:
        # Owned here: a writer task that died (it should not: _loop catches) is logged and
        # started again by the next unit, so no message waits on a dead loop.
        if self._task is not None and self._task.done():
            if not self._task.cancelled() and self._task.exception() is not None:
                log.error("task.restarted task=writer", exc_info=self._task.exception())
            self._task = None
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="kefu.writer")

    async def stop(self) -> None:
        """Write what is queued, then run later units on their own."""
        self._stopped = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
                try:
                    await self._write(batch)
                except Exception as exc:  # a fault of ours: its callers get it, the loop goes on
                    log.exception("writer.batch_failed units=%s", len(batch))
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(exc)
            if self._stopped:
                return

    async def _write(self, batch: list[_Item[Any]]) -> None:
        self._count(len(batch))
        works: list[Work] = []
        results: list[Any] = []
        try:
            # On leaving, every unit's rows and timers go in a few statements (one insert of
            # the messages, the chats' updates, one upsert of the timers), then one commit.
            async with self.units.transaction() as shared:
                # Held until the commit: the session's identity map keeps objects weakly.
                loaded = await _load(shared, [item.touches for item in batch])
                for item in batch:
                    work = self.units.work(shared.session, shared=shared)
                    results.append(await item.step(work))
                    works.append(work)
        except Exception as exc:  # every unit is replayed on its own below
            log.info("writer.replay units=%s cause=%s", len(batch), type(exc).__name__)
            self.stats.replays += 1
            if self.metrics is not None:
                self.metrics.writer_replays.inc()
            await self._replay(batch)
            return
        del loaded
        for item, work, result in zip(batch, works, results, strict=True):
            # Committed: whatever fails from here on must not take the others' results along.
            try:
                if item.acked is not None:
                    item.acked(result)
                await self.units.committed(work)
            except Exception:
                log.exception("writer.after_commit_failed")
            if not item.done.done():
                item.done.set_result(result)

    async def _replay(self, batch: Iterable[_Item[Any]]) -> None:
        for item in batch:
            try:
                result = await _alone(self.units, item.step, item.acked)
            except Exception as exc:  # handed to the caller that sent it
                if not item.done.done():
                    item.done.set_exception(exc)
                else:  # pragma: no cover - the caller is gone; the log is all that is left
                    log.info("writer.unit_failed cause=%s", type(exc).__name__)
            else:
                if not item.done.done():
                    item.done.set_result(result)

    def _count(self, size: int) -> None:
        self.stats.batches += 1
        self.stats.largest = max(self.stats.largest, size)
        if self.metrics is not None:
            self.metrics.batch_units.observe(size)


async def _alone(units: Units, step: Step[T], acked: Acked[T] | None) -> T:
    """``step`` in a unit of its own (its frames go out as it commits, the ack right after)."""
    async with units() as work:
        result = await step(work)
    if acked is not None:
        acked(result)
    return result


# Built once: building an IN list and its cache key anew costs more than running the query. The
# chats are read as plain rows and made objects without the ORM's load, and their changes are
# written back by one prebuilt UPDATE (service/db/direct.py).
_CHAT = cast(Table, Chat.__table__)
_CHATS = (
    direct.track(Chat).where(_CHAT.c.id.in_(bindparam("ids", expanding=True))).order_by(_CHAT.c.id)
)
_CHATS_LOCKED = _CHATS.with_for_update()
# The chats with the messages already stored under the batch's client keys, in one statement.
_CHATS_AND_KEYS = (
    direct.track(Chat)
    .add_columns(Message.client_key, Message.seq)
    .outerjoin(
        Message,
        and_(
            Message.chat_id == _CHAT.c.id,
            Message.client_key.in_(bindparam("keys", expanding=True)),
        ),
    )
    .where(_CHAT.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_CHAT.c.id)
)
# PostgreSQL only. Only the chats' rows are locked (the messages' side of the join may be empty).
_CHATS_AND_KEYS_LOCKED = _CHATS_AND_KEYS.with_for_update(of=_CHAT)
_STORED_KEYS = select(Message.chat_id, Message.client_key, Message.seq).where(
    Message.chat_id.in_(bindparam("chats", expanding=True)),
    Message.client_key.in_(bindparam("keys", expanding=True)),
)
_AGENT = cast(Table, Agent.__table__)
_AGENTS = direct.track(Agent).where(_AGENT.c.id.in_(bindparam("ids", expanding=True)))


async def _load(work: Work, touches: list[Touches]) -> list[object]:
    """Load (and lock) what the batch's units are about to read.

    On PostgreSQL the chats (locked) and the client keys their units check for resends come in
    one statement, a round trip saved; on SQLite too for a small batch (a lone message: ~10 %
    of its CPU saved), a bigger one in two (the join measured slower there under the bench's
    ladder). The agents in one more.
    """
    session = work.session
    chat_ids = sorted({touch.chat_id for touch in touches})
    keys = {(touch.chat_id, touch.client_key) for touch in touches if touch.client_key}
    work.stored_keys.update(dict.fromkeys(keys))
    loaded: list[object] = []
    if keys and (work.is_postgres or len(touches) <= JOIN_BELOW):
        rows = (
            await session.execute(
                _CHATS_AND_KEYS_LOCKED if work.is_postgres else _CHATS_AND_KEYS,
                {"ids": chat_ids, "keys": sorted({key for _, key in keys})},
            )
        ).all()
        loaded += direct.load(session, Chat, rows)
        for row in rows:
            chat_id, client_key, seq = row[0], row[-2], row[-1]
            if client_key is not None and (chat_id, client_key) in keys:
                work.stored_keys[(chat_id, client_key)] = seq
    elif chat_ids:
        rows = await session.execute(
            _CHATS_LOCKED if work.is_postgres else _CHATS, {"ids": chat_ids}
        )
        loaded += direct.load(session, Chat, rows)
        if keys:
            stored = await session.execute(
                _STORED_KEYS,
                {
                    "chats": sorted({chat_id for chat_id, _ in keys}),
                    "keys": sorted({key for _, key in keys}),
                },
            )
            for chat_id, client_key, seq in stored:
                if client_key is not None and (chat_id, client_key) in keys:
                    work.stored_keys[(chat_id, client_key)] = seq
    work.locked.update(chat_ids)
    agent_ids = sorted({touch.agent_id for touch in touches if touch.agent_id is not None})
    if agent_ids:
        loaded += direct.load(session, Agent, await session.execute(_AGENTS, {"ids": agent_ids}))
    return loaded

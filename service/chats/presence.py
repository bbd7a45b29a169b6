"""Socket counts (``Agent.connections``, ``Chat.customer_sockets``), changed in SQL only, and
each process's share of them, taken back when the process dies.

Two processes (or two sockets of one) may open and close at the same moment; a count read into
Python, changed and written back loses one of the two changes. Each change here is one
``UPDATE … SET n = n ± 1 … RETURNING n``: the database serialises them on the row, and the
value returned is the one this change produced. The loaded object is told that value as if it
had been read (``set_committed_value``), so later reads in the unit see it and nothing writes
it back.

Beside the count, the process that holds the socket counts its own share (``process_sockets``)
and beats a heartbeat (``processes.seen_at``). A process killed without closing its sockets
stops beating; after ``KEFU_PROCESS_TTL_S`` another process takes its shares back, socket by
socket, as if each had closed: a count reaching 0 arms the grace timer, as a close would.

A process only stalled past the TTL (a long GC pause, a loaded machine) is alive and finds its
row gone. Before its next write of a share, whichever comes first (a beat, a socket opening or
closing), it rejoins in that same transaction: its row again, and every socket it still holds
counted in again from memory (``held``: the hub's sockets, those whose close is not written yet
included), so nothing it writes refers to a row its peer removed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    BigInteger,
    Integer,
    String,
    Table,
    bindparam,
    case,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from service.db.models import Agent, Chat, Process, ProcessSockets
from service.db.outage import Outage
from service.db.unit_of_work import Units, Work

log = logging.getLogger(__name__)

AGENT = "agent"
CUSTOMER = "customer"
# (unit, kind, ref id, process whose socket it was): one socket of theirs counted out.
Leave = Callable[[Work, str, int, str], Awaitable[None]]
# (unit, kind, ref id): a socket of this process counted in again after it rejoined.
Rejoined = Callable[[Work, str, int], Awaitable[None]]


# This process's row, read (and, on a socket opening, held FOR KEY SHARE till the unit ends).
_OWN_ROW = select(Process.id).where(Process.id == bindparam("id"))
_OWN_ROW_HELD = _OWN_ROW.with_for_update(read=True, key_share=True)
# Set on a session whose transaction holds this process's row (its id as the value).
_ROW_HELD = "kefu.presence.row_held"


def _less(column: Any) -> Any:
    return case((column > 0, column - 1), else_=0)


def address_of(address: str) -> tuple[str, int] | None:
    """("agent", 7) for the hub's "agent:7", ("customer", 12) for "customer:12"."""
    kind, _, ref = address.partition(":")
    return (kind, int(ref)) if kind in (AGENT, CUSTOMER) and ref.isdigit() else None


def _stepped(model: Any, column: Any, by: int) -> Any:
    query = update(model).where(model.id == bindparam("b_ref_id"))
    if by < 0:
        # Only while ``process`` still counts one of this row's sockets as its own.
        query = query.where(
            select(ProcessSockets.sockets)
            .where(
                ProcessSockets.process_id == bindparam("b_process"),
                ProcessSockets.kind == bindparam("b_kind"),
                ProcessSockets.ref_id == bindparam("b_ref_id"),
                ProcessSockets.sockets > 0,
            )
            .exists()
        )
    return (
        query.values({column.key: column + 1 if by > 0 else _less(column)})
        .returning(column)
        .execution_options(synchronize_session=False)
    )


# Built once (sockets opening and closing are a storm's hot path): n + 1, and n - 1 while the
# process's share still holds the socket, for each count.
_STEPS = {
    (column.key, by): _stepped(model, column, by)
    for model, column in ((Agent, Agent.connections), (Chat, Chat.customer_sockets))
    for by in (+1, -1)
}


async def _step(
    session: AsyncSession,
    row: Agent | Chat,
    column: Any,
    by: int,
    process: str = "",
    kind: str = "",
) -> int | None:
    """``n ± 1`` on the row, the new value returned; a ``-1`` only while ``process`` still
    counts a socket of ``kind`` on the row as its own (None when it did not)."""
    params: dict[str, Any] = {"b_ref_id": row.id}
    if by < 0:
        params.update(b_process=process, b_kind=kind)
    count = await session.scalar(_STEPS[column.key, by], params)
    if count is None:
        return None
    set_committed_value(row, column.key, count)
    return int(count)


_TAKE = (
    update(ProcessSockets)
    .where(
        ProcessSockets.process_id == bindparam("b_process"),
        ProcessSockets.kind == bindparam("b_kind"),
        ProcessSockets.ref_id == bindparam("b_ref_id"),
    )
    .values(sockets=_less(ProcessSockets.sockets))
    .execution_options(synchronize_session=False)
)


def _shared(dialect: Any, replace: bool) -> Any:
    by: Any = bindparam("b_by")
    return (
        dialect.insert(ProcessSockets)
        .values(
            process_id=bindparam("b_process"),
            kind=bindparam("b_kind"),
            ref_id=bindparam("b_ref_id"),
            sockets=by,
        )
        .on_conflict_do_update(
            index_elements=["process_id", "kind", "ref_id"],
            set_={"sockets": by if replace else ProcessSockets.sockets + by},
        )
        .execution_options(synchronize_session=False)
    )


# (PostgreSQL?, replace?): a share's upsert.
_SHARES = {
    (pg, replace): _shared(postgresql if pg else sqlite, replace)
    for pg in (True, False)
    for replace in (True, False)
}


def _share_if_alive() -> Any:
    table = cast(Table, ProcessSockets.__table__)
    insert = postgresql.insert(table)
    alive = (
        select(
            Process.id,
            bindparam("b_kind", type_=String),
            bindparam("b_ref_id", type_=BigInteger),
            bindparam("b_by", type_=Integer),
        )
        .where(Process.id == bindparam("b_process"))
        .with_for_update(read=True, key_share=True)
    )
    return (
        insert.from_select(["process_id", "kind", "ref_id", "sockets"], alive)
        .on_conflict_do_update(
            index_elements=["process_id", "kind", "ref_id"],
            set_={"sockets": table.c.sockets + insert.excluded.sockets},
        )
        .returning(table.c.sockets)
    )


# PostgreSQL: this process's row held FOR KEY SHARE and a share written, in one statement; no
# row comes back when the row is gone (the process was given up: it rejoins first).
_SHARE_IF_ALIVE = _share_if_alive()


class Presence:
    """This process's socket bookkeeping; ``process_id`` names it in ``processes``."""

    def __init__(self, heartbeat_s: float, ttl_s: float) -> None:
        self.process_id = uuid.uuid4().hex
        self.heartbeat_s = heartbeat_s
        self.ttl_s = ttl_s
        # The sockets this process holds, by address (the runtime gives the hub's).
        self.held: Callable[[], dict[str, int]] = dict
        self.on_rejoined: list[Rejoined] = []
        self.rejoins = 0

    # This process's row is checked first, the count's row locked second, the share's third, in
    # every change: two units never wait for each other in the opposite order.

    async def agent_connected(self, work: Work, agent: Agent) -> int:
        """One more socket of this agent; the agent's count after it."""
        await self._joined(work, lock=True)
        count = await _step(work.session, agent, Agent.connections, +1)
        await self._share(work, AGENT, agent.id, +1)
        assert count is not None
        return count

    async def agent_disconnected(self, work: Work, agent: Agent, process: str | None) -> int | None:
        """One socket of this agent fewer; the count after it, or None when ``process`` no longer
        counted that socket (it had been given up and its sockets counted out already)."""
        return await self._left(work, agent, AGENT, Agent.connections, process)

    async def customer_connected(self, work: Work, chat: Chat) -> int:
        await self._joined(work, lock=True)
        count = await _step(work.session, chat, Chat.customer_sockets, +1)
        await self._share(work, CUSTOMER, chat.id, +1)
        assert count is not None
        return count

    async def customer_joined(self, work: Work, chat: Chat) -> None:
        """A new chat's first socket (the chat row was inserted with a count of 1)."""
        info = work.session.info
        if work.is_postgres and info.get(_ROW_HELD) != self.process_id:
            # The row check and the share in one round trip: the chat's row is this unit's
            # alone (just inserted), so there is no lock order to keep with it.
            params = {"b_process": self.process_id, "b_kind": CUSTOMER, "b_ref_id": chat.id}
            if await work.session.scalar(_SHARE_IF_ALIVE, {**params, "b_by": 1}) is not None:
                info[_ROW_HELD] = self.process_id
                return
        await self._joined(work, lock=True)
        await self._share(work, CUSTOMER, chat.id, +1)

    async def customer_disconnected(
        self, work: Work, chat: Chat, process: str | None
    ) -> int | None:
        return await self._left(work, chat, CUSTOMER, Chat.customer_sockets, process)

    async def _left(
        self, work: Work, row: Agent | Chat, kind: str, column: Any, process: str | None
    ) -> int | None:
        if process is None or process == self.process_id:
            # Not locked: a departure may be written in a batch that holds chats' rows, and the
            # peer counting this process out would wait for one of them while holding the row.
            await self._joined(work, lock=False)
        process = process or self.process_id
        count = await _step(work.session, row, column, -1, process, kind)
        if count is not None:
            await self._take(work, kind, row.id, process)
        return count

    async def adopt(self, work: Work, kind: str, ref_id: int, sockets: int, *, add: bool) -> None:
        """Count ``sockets`` as this process's: added to the count (sockets that were counted
        out while still open) or set as the count (a restart of the only process)."""
        column = Agent.connections if kind == AGENT else Chat.customer_sockets
        model = Agent if kind == AGENT else Chat
        await work.session.execute(
            update(model)
            .where(model.id == ref_id)
            .values({column.key: column + sockets if add else sockets})
            .execution_options(synchronize_session=False)
        )
        await self._share(work, kind, ref_id, sockets, replace=True)

    async def _take(self, work: Work, kind: str, ref_id: int, process: str) -> None:
        await work.session.execute(
            _TAKE, {"b_process": process, "b_kind": kind, "b_ref_id": ref_id}
        )

    async def _share(
        self, work: Work, kind: str, ref_id: int, by: int, *, replace: bool = False
    ) -> None:
        await work.session.execute(
            _SHARES[work.is_postgres, replace],
            {"b_process": self.process_id, "b_kind": kind, "b_ref_id": ref_id, "b_by": by},
        )

    # -- the process's own row -----------------------------------------------------------------

    async def _joined(self, work: Work, *, lock: bool) -> None:
        """This process's row is there (kept there, with ``lock``, until the unit ends: a peer
        claiming it skips it) or the process rejoins in this unit before writing a share.

        Asked once per transaction once the row is locked (a batch of hellos in the group
        commit asks once), and never on SQLite: the embedded default is one process, which no
        peer gives up.
        """
        info = work.session.info
        if not work.is_postgres or info.get(_ROW_HELD) == self.process_id:
            return
        query = _OWN_ROW_HELD if lock else _OWN_ROW
        if await work.session.scalar(query, {"id": self.process_id}) is None:
            await self.rejoin(work)
        elif lock:
            info[_ROW_HELD] = self.process_id

    async def rejoin(self, work: Work) -> bool:
        """Given up by a peer while alive: the row again and every held socket counted in again,
        in this unit; False when another unit of this process has just done it."""
        insert = (postgresql.insert if work.is_postgres else sqlite.insert)(Process)
        row = await work.session.scalar(
            insert.values(self._row(work.now))
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(Process.id)
        )
        if row is None:
            return False  # the other unit waited for held our row until it committed
        held = sorted(
            (found, sockets)
            for address, sockets in self.held().items()
            if (found := address_of(address)) is not None and sockets > 0
        )
        log.error("presence.rejoined process=%s sockets=%s", self.process_id, len(held))
        for (kind, ref_id), sockets in held:
            await self.adopt(work, kind, ref_id, sockets, add=True)
            for hook in self.on_rejoined:
                await hook(work, kind, ref_id)
        self.rejoins += 1
        return True

    def _row(self, now: datetime) -> dict[str, Any]:
        return {
            "id": self.process_id,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
            "started_at": now,
            "seen_at": now,
        }

    async def register(self, work: Work, *, only_process: bool) -> None:
        """At start: this process's row; the embedded default also forgets every other one."""
        if only_process:
            await work.session.execute(delete(ProcessSockets))
            await work.session.execute(delete(Process))
        work.session.add(Process(**self._row(work.now)))
        await work.session.flush()

    async def beat(self, work: Work) -> bool:
        """Fresh heartbeat; False when another process had already given this one up."""
        result = await work.session.execute(
            update(Process)
            .where(Process.id == self.process_id)
            .values(seen_at=work.now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def stale(self, session: AsyncSession, now: datetime, *, lock: bool) -> list[str]:
        """Processes whose heartbeat is older than the TTL; with ``lock``, claimed by this
        transaction (``FOR UPDATE SKIP LOCKED``: another process skips them)."""
        query = select(Process.id).where(
            Process.seen_at < now - timedelta(seconds=self.ttl_s),
            Process.id != self.process_id,
        )
        if lock:
            query = query.with_for_update(skip_locked=True)
        return list((await session.scalars(query)).all())

    async def shares(self, session: AsyncSession, process: str) -> list[tuple[str, int, int]]:
        """(kind, ref id, sockets) that ``process`` still counts."""
        rows = await session.execute(
            select(ProcessSockets.kind, ProcessSockets.ref_id, ProcessSockets.sockets).where(
                ProcessSockets.process_id == process, ProcessSockets.sockets > 0
            )
        )
        return [(kind, ref_id, sockets) for kind, ref_id, sockets in rows]

    async def forget(self, session: AsyncSession, process: str) -> None:
        await session.execute(delete(ProcessSockets).where(ProcessSockets.process_id == process))
        await session.execute(delete(Process).where(Process.id == process))


class Heartbeat:
    """The loop that keeps this process alive in ``processes`` and expires dead ones."""

    def __init__(self, presence: Presence, units: Units, leave: Leave) -> None:
        self.presence = presence
        self.units = units
        self.leave = leave
        self.expired = 0  # dead processes this one counted out
        self.outage = Outage("presence.beat", log)
        # Since when this process's beats have all succeeded: after a database outage every
        # heartbeat is old, and the others need one TTL to beat again before any looks dead.
        self.beating_since: datetime | None = None

    async def run(self) -> None:
        """Owned by the supervisor; a database outage ends one beat, not the loop."""
        while True:
            await asyncio.sleep(self.presence.heartbeat_s)
            try:
                await self.once()
            except Exception as exc:
                self.beating_since = None
                self.outage.failed(exc)
            else:
                self.outage.passed()

    async def once(self) -> int:
        """One beat: stay alive, then count out the sockets of processes that died."""
        async with self.units() as work:
            if not await self.presence.beat(work):
                # Given up by another process (we were stalled past the TTL): our open sockets
                # were counted out, so they are counted in again.
                await self.presence.rejoin(work)
        now = self.units.clock.now()
        if self.beating_since is None:
            self.beating_since = now
        if (now - self.beating_since).total_seconds() < self.presence.ttl_s:
            return 0
        if not self.units.database.is_postgres:
            # One process on the file: nobody else expires, nothing to claim.
            async with self.units.read() as session:
                now = self.units.clock.now()
                stale = await self.presence.stale(session, now, lock=False)
                plan = {process: await self.presence.shares(session, process) for process in stale}
            lost = 0
            for process, shares in plan.items():
                lost += await self._count_out(process, shares)
                self.expired += 1
                async with self.units() as work:
                    await self.presence.forget(work.session, process)
            return lost
        # The dead process's row stays locked by this transaction (the claim) while its sockets
        # are counted out, one small unit each, as their closes would have been: one large
        # transaction over many chats and agents would deadlock with the writer's batches.
        lost = 0
        async with self.units.database.sessions() as claim, claim.begin():
            for process in await self.presence.stale(claim, self.units.clock.now(), lock=True):
                counted = await self._count_out(process, await self.presence.shares(claim, process))
                await self.presence.forget(claim, process)
                log.warning("presence.process_expired process=%s sockets=%s", process, counted)
                self.expired += 1
                lost += counted
        return lost

    async def _count_out(self, process: str, shares: list[tuple[str, int, int]]) -> int:
        lost = 0
        for kind, ref_id, sockets in shares:
            for _ in range(sockets):
                async with self.units() as work:
                    await self.leave(work, kind, ref_id, process)
                lost += 1
        return lost

    async def retire(self) -> None:
        """Graceful stop: whatever this process still counts is counted out, its row goes."""
        me = self.presence.process_id
        async with self.units.read() as session:
            shares = await self.presence.shares(session, me)
        await self._count_out(me, shares)
        async with self.units() as work:
            await self.presence.forget(work.session, me)

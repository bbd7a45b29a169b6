"""Routing: which online agent takes a chat, the FIFO queue, and the positions it announces.

A chat goes to the online, connected agent with free capacity and the fewest open chats; ties go
to the one idle longest (assigned least recently). A chat with a group goes only to that group's
agents, and never back to the agent who handed it off. Otherwise it waits: returned chats first
(higher priority), then in arrival order; positions are counted within the chat's group.
``drain`` hands out the line in one set-based step that any unit or process may run at once
(rows locked ``FOR UPDATE SKIP LOCKED`` on PostgreSQL); ``pick_agent`` finds the one taker of a
transfer with the same ranking (``plan``), the agents' rows locked before their chats are
counted, so two processes cannot overfill one agent.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace

from sqlalchemy import ScalarSelect, and_, bindparam, func, or_, select, update

from service.chats import machine
from service.chats.frames import agent_card, chat_summary
from service.chats.machine import Conversation
from service.chats.rows import write
from service.chats.store import frames_of
from service.db.models import (
    Agent,
    AgentGroup,
    AgentStatus,
    Chat,
    ChatStatus,
    Customer,
    in_line,
)
from service.db.outage import Outage
from service.db.unit_of_work import Units, Work
from service.realtime import events

log = logging.getLogger(__name__)

# The advisory lock key of the positions pass on PostgreSQL (any constant unique to kefu).
POSITIONS_LOCK = 0x6B656675_01
RETRY_S = 0.5
AGAIN_S = 0.02


def customer_address(chat_id: int) -> str:
    return f"customer:{chat_id}"


def agent_address(agent_id: int) -> str:
    return f"agent:{agent_id}"


def audience(chat: Chat) -> list[str]:
    """The chat's customer tabs and, when assigned, its agent."""
    to = [customer_address(chat.id)]
    if chat.agent_id is not None:
        to.append(agent_address(chat.agent_id))
    return to


async def pick_agent(
    work: Work,
    *,
    group_id: int | None = None,
    exclude_id: int | None = None,
    agent_id: int | None = None,
) -> Agent | None:
    """The agent to take one chat now (a transfer's): of ``group_id``, not ``exclude_id``, only
    ``agent_id``; ranked as the line is handed out (``plan``, ``Seat.rank``).

    The serving agents' rows are locked (on PostgreSQL, waiting for them: a transfer is refused
    only for a seat that is really taken) before their chats are counted, so two processes
    cannot overfill one agent.
    """
    agents, seats = await _free_seats(work, wait=True)
    if agent_id is not None:
        seats = [seat for seat in seats if seat.agent_id == agent_id]
    if group_id is not None:
        seats = await _with_groups(work, seats)
    pairs = plan([Waiting(0, group_id, exclude_id)], seats)
    return agents[pairs[0][1]] if pairs else None


def idle_key(agent: Agent) -> float:
    return agent.last_assigned_at.timestamp() if agent.last_assigned_at else float("-inf")


def is_in_line(chat: Chat) -> bool:
    """Whether a queued chat waits for an agent (with route_on=message, from its first word)."""
    return chat.status == ChatStatus.queued and chat.queued_at is not None


async def queued_chats(work: Work) -> Sequence[Chat]:
    """The line, in order: queued chats that wait for an agent (not those yet to say a word)."""
    query = select(Chat).where(in_line()).order_by(Chat.priority.desc(), Chat.queued_at, Chat.id)
    return (await work.session.scalars(query)).all()


async def line_length(work: Work, group_id: int | None) -> int:
    """How many chats wait in line for ``group_id`` (None: for any agent)."""
    if group_id is None:
        found = await work.session.scalar(LINE_LENGTH)
    else:
        found = await work.session.scalar(GROUP_LINE_LENGTH, {"group_id": group_id})
    return int(found or 0)


# Built once: a new chat not yet in line is told the place it would take (every hello asks).
LINE_LENGTH = select(func.count()).where(in_line(), Chat.group_id.is_(None))
GROUP_LINE_LENGTH = select(func.count()).where(in_line(), Chat.group_id == bindparam("group_id"))


async def assign(work: Work, chat: Chat, agent: Agent, why: str | None = None) -> None:
    """Hand one chat to one agent (a transfer's taker, ``why`` it moves on: S-first-responder);
    ``drain`` hands out the line."""
    await assign_all(work, [(chat, agent)], why)


async def assign_all(
    work: Work, pairs: Sequence[tuple[Chat, Agent]], why: str | None = None
) -> None:
    """Hand each chat to its agent: fields set, the agents' timers started, both sides told.

    The customers and the histories of all the chats are read in one query each.
    """
    for chat, agent in pairs:
        write(chat, machine.assign_to(agent.id, work.now), why)
        agent.last_assigned_at = work.now
        await work.assigned(chat)
    await work.session.flush()
    chat_ids = [chat.id for chat, _ in pairs]
    customer_ids = sorted({chat.customer_id for chat, _ in pairs})
    customers = {
        customer.id: customer
        for customer in await work.session.scalars(_CUSTOMERS, {"ids": customer_ids})
    }
    histories = await frames_of(work.session, chat_ids, internal=True)
    for chat, agent in pairs:
        work.send(
            customer_address(chat.id),
            events.CustomerAssigned(chat.id, agent_card(agent)),
        )
        work.send(
            agent_address(agent.id),
            events.AgentAssigned(
                chat_summary(chat, customers[chat.customer_id]), histories.get(chat.id, [])
            ),
        )


@dataclass
class Seat:
    """An agent who may take chats now, as routing counts them (plain values)."""

    agent_id: int
    open: int
    capacity: int
    last_assigned: float  # a timestamp; -inf for an agent never assigned
    groups: frozenset[int] = frozenset()

    def rank(self) -> tuple[int, float, int]:
        # Fewest open chats first, then the one idle longest, then the oldest account.
        return (self.open, self.last_assigned, self.agent_id)


@dataclass(frozen=True)
class Waiting:
    """A chat in line, in line order (plain values)."""

    chat_id: int
    group_id: int | None
    handoff_from_id: int | None


def plan(line: Sequence[Waiting], seats: Sequence[Seat]) -> list[tuple[int, int]]:
    """Which chat goes to which agent, in line order: (chat id, agent id) pairs. Pure.

    Each chat, first in line first, goes to the eligible agent with a free seat ranked first
    (``Seat.rank``), whose count then goes up: a chat of a group only to that group's members,
    never back to the agent who handed it off; a chat nobody eligible can take keeps its place
    and the line goes on behind it. Never over an agent's capacity.
    """
    free = {seat.agent_id: replace(seat) for seat in seats if seat.open < seat.capacity}
    pairs: list[tuple[int, int]] = []
    for chat in line:
        if not free:
            break
        best: Seat | None = None
        for seat in free.values():
            if chat.group_id is not None and chat.group_id not in seat.groups:
                continue
            if seat.agent_id == chat.handoff_from_id:
                continue
            if best is None or seat.rank() < best.rank():
                best = seat
        if best is None:
            continue
        pairs.append((chat.chat_id, best.agent_id))
        best.open += 1
        if best.open >= best.capacity:
            del free[best.agent_id]
    return pairs


async def drain(work: Work) -> None:
    """Hand queued chats to free agents until one side runs out (the line moves if any goes).

    Set-based and safe to run anywhere, at once in several units and processes: the free agents
    are read first (none free: nothing more is read), then the line, a plan made in memory
    (``plan``), and the chats of the plan taken. On PostgreSQL the agents' rows and then the
    planned chats' rows are locked ``FOR UPDATE SKIP LOCKED`` before they are counted or
    changed: a row another transaction holds is left for the next pass (which this unit asks
    for), so a drain never waits for a lock, cannot deadlock, and never hands one chat twice or
    an agent more than their capacity.
    """
    agents, seats = await _free_seats(work)
    if not seats:
        return
    line = [Waiting(*row) for row in await work.session.execute(_LINE)]
    if not line:
        return
    if any(chat.group_id is not None for chat in line):
        seats = await _with_groups(work, seats)
    pairs = plan(line, seats)
    if not pairs:
        return
    query = _LINE_CHATS_LOCKED if work.is_postgres else _LINE_CHATS
    taken = {
        chat.id: chat
        for chat in await work.session.scalars(query, {"ids": [chat_id for chat_id, _ in pairs]})
    }
    if len(taken) < len(pairs):
        work.route_due = True  # some were held elsewhere (or left the line): the next pass
    await assign_all(work, [(taken[c], agents[a]) for c, a in pairs if c in taken])
    if taken:
        await announce_positions(work)


async def _with_groups(work: Work, seats: list[Seat]) -> list[Seat]:
    """The seats with their agents' groups (for chats that wait for a group)."""
    if not seats:
        return seats
    members: dict[int, set[int]] = {}
    for agent_id, group_id in await work.session.execute(
        _MEMBERSHIPS, {"ids": [seat.agent_id for seat in seats]}
    ):
        members.setdefault(agent_id, set()).add(group_id)
    return [replace(seat, groups=frozenset(members.get(seat.agent_id, ()))) for seat in seats]


async def _free_seats(work: Work, *, wait: bool = False) -> tuple[dict[int, Agent], list[Seat]]:
    """The serving agents with a free seat (their rows locked on PostgreSQL) and their counts.

    A routing pass skips rows others hold (``wait=False``) and asks for the next pass; a
    transfer waits for them.
    """
    if work.is_postgres:
        serving = list(await work.session.scalars(_SERVING_IDS))
        if not serving:
            return {}, []
        lock = _LOCK_AGENTS_WAITING if wait else _LOCK_AGENTS
        ids = list(await work.session.scalars(lock, {"ids": serving}))
        if len(ids) < len(serving):
            # Some are being changed elsewhere (presence, status, another pass): left for
            # the next pass, which this unit asks for.
            work.route_due = True
        if not ids:
            return {}, []
        rows = await work.session.execute(_WITH_OPEN_CHATS, {"ids": ids})
    else:
        rows = await work.session.execute(_SERVING_WITH_OPEN_CHATS)
    agents: dict[int, Agent] = {}
    seats: list[Seat] = []
    for agent, open_chats in rows:
        if open_chats >= agent.capacity:
            continue
        agents[agent.id] = agent
        seats.append(Seat(agent.id, open_chats, agent.capacity, idle_key(agent)))
    return agents, seats


def _open_chats() -> ScalarSelect[int]:
    return (
        select(func.count())
        .where(Chat.agent_id == Agent.id, Chat.status == ChatStatus.assigned)
        .correlate(Agent)
        .scalar_subquery()
    )


# Built once (the hot path of every routing pass; see docs/design.md).
_SERVING = (
    Agent.status == AgentStatus.online,
    Agent.connections > 0,
    Agent.active.is_(True),
)
_SERVING_IDS = select(Agent.id).where(*_SERVING)
_LOCK_AGENTS = (
    select(Agent.id)
    .where(Agent.id.in_(bindparam("ids", expanding=True)), *_SERVING)
    .order_by(Agent.id)
    .with_for_update(skip_locked=True)
)
_LOCK_AGENTS_WAITING = (
    select(Agent.id)
    .where(Agent.id.in_(bindparam("ids", expanding=True)), *_SERVING)
    .order_by(Agent.id)
    .with_for_update()
)
_WITH_OPEN_CHATS = (
    select(Agent, _open_chats())
    .where(Agent.id.in_(bindparam("ids", expanding=True)))
    .execution_options(populate_existing=True)
)
_SERVING_WITH_OPEN_CHATS = select(Agent, _open_chats()).where(*_SERVING)
_LINE = (
    select(Chat.id, Chat.group_id, Chat.handoff_from_id)
    .where(in_line())
    .order_by(Chat.priority.desc(), Chat.queued_at, Chat.id)
)
_MEMBERSHIPS = select(AgentGroup.agent_id, AgentGroup.group_id).where(
    AgentGroup.agent_id.in_(bindparam("ids", expanding=True))
)
_LINE_CHATS = (
    select(Chat)
    .where(Chat.id.in_(bindparam("ids", expanding=True)), in_line())
    .execution_options(populate_existing=True)
)
_LINE_CHATS_LOCKED = _LINE_CHATS.with_for_update(skip_locked=True)
_CUSTOMERS = select(Customer).where(Customer.id.in_(bindparam("ids", expanding=True)))


async def announce_positions(work: Work) -> None:
    """The line moved: its customers hear their new places once this unit has committed.

    Positions are not counted here: the positions pass counts them once for every change committed
    meanwhile, so a storm of closes costs a few passes over the line, not one per close.
    """
    work.queue_moved = True


async def tell_positions(work: Work) -> int:
    """Tell every waiting customer whose place changed (and only them) where they stand now.

    A place is counted among the chats waiting for the same group (or for no group). One query
    reads the line's ids and stored places, one statement stores the places that changed.
    """
    rows = await work.session.execute(
        select(Chat.id, Chat.group_id, Chat.queue_position)
        .where(in_line())
        .order_by(Chat.priority.desc(), Chat.queued_at, Chat.id)
    )
    ahead: dict[int | None, int] = {}
    changed: list[dict[str, int]] = []
    for chat_id, group_id, stored in rows:
        position = ahead[group_id] = ahead.get(group_id, 0) + 1
        if stored != position:
            changed.append({"id": chat_id, "queue_position": position})
            work.send(customer_address(chat_id), events.Queue(position))
    if changed:
        # In id order, as the writer locks chats: the two never deadlock on them.
        changed.sort(key=lambda row: row["id"])
        await work.session.execute(update(Chat), changed)
    return len(changed)


async def position_of(work: Work, chat: Chat) -> int:
    """The chat's place in its line right now (1 is next), counted in one query."""
    assert chat.queued_at is not None
    same_group = (
        Chat.group_id.is_(None) if chat.group_id is None else Chat.group_id == chat.group_id
    )
    before = or_(
        Chat.priority > chat.priority,
        and_(Chat.priority == chat.priority, Chat.queued_at < chat.queued_at),
        and_(Chat.priority == chat.priority, Chat.queued_at == chat.queued_at, Chat.id < chat.id),
    )
    ahead = await work.session.scalar(select(func.count()).where(in_line(), same_group, before))
    return int(ahead or 0) + 1


class Pass:
    """A step run after the units that asked for it, one pass for a burst of requests.

    ``poke`` after a commit; the task runs ``step`` in a unit of its own, and requests made
    while it runs are served by the next pass. A failing pass is logged and run again shortly.
    """

    def __init__(self, name: str, units: Units, step: Callable[[Work], Awaitable[object]]) -> None:
        self.name = name
        self.units = units
        self.step = step
        self.passes = 0
        self._due = asyncio.Event()
        self._outage = Outage(name, log)

    def poke(self) -> None:
        self._due.set()

    async def run(self) -> None:
        while True:
            await self._due.wait()
            self._due.clear()
            try:
                async with self.units() as work:
                    await self.step(work)
                self.passes += 1
                self._outage.passed()
                if work.route_due:
                    # The pass left rows other transactions held and asked for the next one:
                    # give those a moment to commit rather than spin on them.
                    await asyncio.sleep(AGAIN_S)
            except Exception as exc:
                # Nothing was sent (frames go out after the commit): try again shortly.
                self._outage.failed(exc)
                self._due.set()
                await asyncio.sleep(RETRY_S)
            await asyncio.sleep(0)


async def positions_pass(work: Work) -> None:
    """Tell the line its places (``Pass`` "positions", after every unit that moved the line)."""
    if work.is_postgres:
        # One pass at a time across processes: nobody hears a place twice.
        await work.session.execute(select(func.pg_advisory_xact_lock(POSITIONS_LOCK)))
    await tell_positions(work)


async def routing_pass(work: Work) -> None:
    """Hand the line to free agents (``Pass`` "routing", after chats joined the line).

    One unit assigns every chat it can, however many joined since the last pass; those left
    waiting hear their places.
    """
    await drain(work)
    work.queue_moved = True


def join_line(work: Work, chat: Chat) -> None:
    """The customer's first message: the chat waits for an agent from now, at the end.

    It is routed by the next routing pass, after this unit commits (not in it: a storm of first
    messages is stored in the writer's batches and routed in a few units, not one each).
    """
    write(chat, machine.joined_line(work.now))
    work.route_due = True


async def route(work: Work, chat: Chat, why: str | None = None) -> None:
    """Place a chat that is new or back in the queue (``why`` it left its agent, if it had one:
    S-first-responder)."""
    write(chat, machine.requeued(Conversation.of(chat), work.now), why)
    await work.session.flush()
    await drain(work)
    if chat.status == ChatStatus.queued:
        await announce_positions(work)  # it joined the line: its place (and those behind it)

"""A property-based model of one chat's life across two processes (hypothesis, stateful).

Two real servers on one PostgreSQL database and one Redis; two agents, one signed in on each. In
each example a customer opens one chat on either server and hypothesis drives it: messages both
ways, reconnects to the other process with the unacknowledged message resent under the same
``client_id`` (customer and agent), transfers between the agents, holds, the agent's close and
a reopen in its grace (or a second close at once, S-anything-else asked once), time passing and
the grace running out. After every step the database is checked against the invariants:

- the chat's seqs are 1..n with no gap, and every acknowledged message is stored exactly once
  with the seq its ack said (no duplicate ``client_key``: a resend is never stored twice);
- templates exactly once per cause: one ``welcome``; one ``hold`` per hold; one
  ``anything_else`` per grace started; one ``transferred`` per transfer; one ``closing`` once
  closed, none before;
- no reply wait (and no first response) is negative.

Bounded and deterministic for CI: ``derandomize`` (the examples follow from the test's source),
a fixed example and step count, no example database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from service.clock import ManualClock
from service.db.models import Agent as AgentRow
from service.db.models import Chat, Message, Reply
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.redis_server import RedisProcess
from tests.support.server import FACTOR, Agent, Customer, Server, running_server, test_settings

T = TypeVar("T")
EXAMPLES = 25
STEPS = 20
GRACE_S = 30.0
# Everything else far away: only the closing grace falls due while an example runs (at most
# STEPS × 3 s of time passing), so the model need not predict apologies, idle prompts or
# reminders.
FAR_S = 3600.0

Run = Callable[[Awaitable[T]], T]


@contextmanager
def servers_on_a_loop(
    database_url: str, redis_url: str
) -> Iterator[tuple[Run[Any], Server, Server]]:
    """Two servers on an event loop of their own thread: hypothesis's rules are synchronous and
    hand each step to that loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def run(step: Awaitable[T]) -> T:
        async def bounded() -> T:
            return await asyncio.wait_for(step, 30 * FACTOR)

        return asyncio.run_coroutine_threadsafe(bounded(), loop).result()

    stack = AsyncExitStack()
    clock = ManualClock()
    options = test_settings(
        database_url,
        redis_url=redis_url,
        close_grace_s=GRACE_S,
        # Heartbeats are stamped with the injected clock, which only the model moves: without
        # this, time passing would make each server count the other out as dead.
        process_ttl_s=10 * FAR_S,
        **dict.fromkeys(
            (
                "long_wait_s",
                "hold_s",
                "accept_timeout_s",
                "idle_prompt_s",
                "idle_close_s",
                "customer_grace_s",
                "agent_grace_s",
            ),
            FAR_S,
        ),
    )

    async def enter() -> tuple[Server, Server]:
        one = await stack.enter_async_context(running_server(options, clock))
        two = await stack.enter_async_context(running_server(options, clock))
        return one, two

    try:
        one, two = run(enter())
        yield run, one, two
    finally:
        run(stack.aclose())
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


class ChatLife(RuleBasedStateMachine):
    employee_nos = itertools.count(7000)
    tally: ClassVar[Counter[str]] = Counter()  # steps taken, over all examples (printed at the end)

    def __init__(self, run: Run[Any], servers: tuple[Server, Server]) -> None:
        super().__init__()
        self.run, self.servers = run, servers
        self.agents: list[Agent] = []
        self.agent_home = [0, 1]  # which server each agent's socket is on
        self.customer: Customer | None = None
        self.customer_home = 0
        self.holder = 0  # which agent holds the chat
        self.state = "open"  # open, closing, closed
        self.asked = False  # anything_else asked, no agent message since
        self.acks: dict[str, int] = {}  # client_key -> seq
        self.ids = itertools.count(1)
        self.expected: Counter[str] = Counter(welcome=1)

    def step(self, step: Coroutine[Any, Any, T]) -> T:
        self.tally[step.__name__.lstrip("_")] += 1
        result: T = self.run(step)
        return result

    # -- setup and teardown ---------------------------------------------------------------

    @initialize(home=st.sampled_from([0, 1]))
    def open_chat(self, home: int) -> None:
        self.step(self._open(home))

    async def _open(self, home: int) -> None:
        one, two = self.servers
        for server in (one, two):
            number = str(next(self.employee_nos))
            self.agents.append(await server.agent(f"坐席{number}", number, capacity=5))
        self.customer_home = home
        self.customer = await self.servers[home].customer()
        # Routed at hello, to either agent; or, when a routing pass held the agents' rows just
        # then (an agent's hello pulls the line), by that pass a moment later.
        deadline = time.monotonic() + 5 * FACTOR
        while True:
            [holder] = await self.servers[0].rows(
                select(Chat.agent_id).where(Chat.id == self.chat_id)
            )
            if holder is not None or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.05)
        self.holder = [agent.info["agent"]["id"] for agent in self.agents].index(holder)
        await self.agents[self.holder].until("assigned", chat_id=self.customer.chat_id)

    def teardown(self) -> None:
        if self.customer is not None:
            self.step(self._leave())

    async def _leave(self) -> None:
        assert self.customer is not None
        if self.state != "closed":
            # Closed before everyone leaves: no timer of this chat is left to fire in a later
            # example (the clock is shared and only moves forward).
            await self.customer.send({"type": "close"})
            await self.customer.until("closed", chat_id=self.customer.chat_id)
        for peer in (self.customer, *self.agents):
            # What it never read is read first: a client whose queue is full stops reading
            # the socket, and would wait its close timeout for the server's close frame.
            with contextlib.suppress(TimeoutError):
                while True:
                    await peer.recv(0.02)
            await peer.close()
        # Both agents counted out before the next example's agents sign in: routing must
        # never pick one of these.
        ids = [agent.info["agent"]["id"] for agent in self.agents]
        deadline = time.monotonic() + 5 * FACTOR
        while await self.servers[0].rows(
            select(AgentRow.id).where(AgentRow.id.in_(ids), AgentRow.connections != 0)
        ):
            assert time.monotonic() < deadline, "an agent's sockets were never counted out"
            await asyncio.sleep(0.02)

    @property
    def chat_id(self) -> int:
        assert self.customer is not None
        return self.customer.chat_id

    @precondition(lambda self: self.state == "open")
    @rule(
        # The close twice: its consequences (the grace, a reopen, a second close at once) take
        # several steps to reach.
        action=st.sampled_from(
            [
                *("agent_says", "customer_reconnects", "agent_holds", "agent_transfers"),
                *("agent_reconnects", "agent_closes", "agent_closes"),
            ]
        ),
        wait_for_ack=st.booleans(),
    )
    def open_chat_step(self, action: str, wait_for_ack: bool) -> None:
        """What may happen in an open chat (one rule: each is drawn as often as the others)."""
        if action == "customer_reconnects":
            self.customer_reconnects_and_resends(wait_for_ack)
        elif action == "agent_reconnects":
            self.agent_reconnects_and_resends(wait_for_ack)
        else:
            getattr(self, action)()

    # -- the customer ---------------------------------------------------------------------

    @precondition(lambda self: self.state != "closed")
    @rule()
    def customer_says(self) -> None:
        self.step(self._customer_says())

    async def _customer_says(self) -> None:
        assert self.customer is not None
        client_id = f"m{next(self.ids)}"
        ack = await self.customer.say(f"问题 {client_id}", client_id)
        self.acks[f"customer:{client_id}"] = ack["seq"]
        if self.state == "closing":  # a word in the grace reopens it, same agent
            await self.customer.until("reopened", chat_id=self.chat_id)
            self.state = "open"
            self.tally["reopen_in_grace"] += 1
        await self.agents[self.holder].until("message", chat_id=self.chat_id, seq=ack["seq"])

    def customer_reconnects_and_resends(self, wait_for_ack: bool) -> None:
        self.step(self._customer_reconnects(wait_for_ack))

    async def _customer_reconnects(self, wait_for_ack: bool) -> None:
        """A message sent, the socket dropped (before or after its ack), the customer back on
        the other process with resume, the same client_id sent again: stored once."""
        assert self.customer is not None
        client_id = f"m{next(self.ids)}"
        frame = {"type": "message", "client_id": client_id, "text": f"问题 {client_id}"}
        await self.customer.send(frame)
        first = await self.customer.until("ack", client_id=client_id) if wait_for_ack else None
        old, token = self.customer, self.customer.token
        await self.servers[self.customer_home].leave(old)
        self.customer_home = 1 - self.customer_home
        resumed = await self.servers[self.customer_home].customer(
            resume={"token": token, "last_seq": 0}
        )
        assert resumed.chat_id == old.chat_id
        self.customer = resumed
        await resumed.send(frame)
        ack = await resumed.until("ack", client_id=client_id)
        assert first is None or first["seq"] == ack["seq"], "a resend gets the first ack's seq"
        self.acks[f"customer:{client_id}"] = ack["seq"]

    # -- the agent ------------------------------------------------------------------------

    def agent_says(self) -> None:
        self.step(self._agent_says())

    async def _agent_says(self) -> None:
        assert self.customer is not None
        agent = self.agents[self.holder]
        client_id = f"a{next(self.ids)}"
        ack = await agent.say(self.chat_id, f"好的 {client_id}", client_id)
        self.acks[f"agent:{agent.info['agent']['id']}:{client_id}"] = ack["seq"]
        self.asked = False
        await self.customer.until("message", seq=ack["seq"])

    def agent_reconnects_and_resends(self, wait_for_ack: bool) -> None:
        self.step(self._agent_reconnects(wait_for_ack))

    async def _agent_reconnects(self, wait_for_ack: bool) -> None:
        agent = self.agents[self.holder]
        client_id = f"a{next(self.ids)}"
        frame = {
            "type": "message",
            "chat_id": self.chat_id,
            "client_id": client_id,
            "text": f"好的 {client_id}",
        }
        await agent.send(frame)
        first = await agent.until("ack", client_id=client_id) if wait_for_ack else None
        home = self.agent_home[self.holder]
        await agent.close()  # no wait for its grace timer: the new socket comes at once
        self.agent_home[self.holder] = 1 - home
        again = await self.servers[1 - home].agent_socket(agent.info["token"])
        again.info = {**agent.info, **again.info}
        self.agents[self.holder] = again
        await again.send(frame)
        ack = await again.until("ack", client_id=client_id)
        assert first is None or first["seq"] == ack["seq"], "a resend gets the first ack's seq"
        self.acks[f"agent:{agent.info['agent']['id']}:{client_id}"] = ack["seq"]
        self.asked = False

    def agent_holds(self) -> None:
        self.step(self._hold())

    async def _hold(self) -> None:
        assert self.customer is not None
        await self.agents[self.holder].send({"type": "hold", "chat_id": self.chat_id})
        await self.customer.until("message", template="hold")
        self.expected["hold"] += 1

    def agent_transfers(self) -> None:
        self.step(self._transfer())

    async def _transfer(self) -> None:
        assert self.customer is not None
        sender, receiver = self.agents[self.holder], self.agents[1 - self.holder]
        await sender.send(
            {
                "type": "transfer",
                "chat_id": self.chat_id,
                "to_agent": receiver.info["agent"]["id"],
                "note": "请继续跟进",
            }
        )
        await sender.until("transferred", chat_id=self.chat_id)
        await receiver.until("assigned", chat_id=self.chat_id)
        await self.customer.until("assigned")
        self.holder = 1 - self.holder
        self.expected["transferred"] += 1

    def agent_closes(self) -> None:
        self.step(self._close())

    async def _close(self) -> None:
        assert self.customer is not None
        await self.agents[self.holder].send({"type": "close", "chat_id": self.chat_id})
        if self.asked:
            # S-anything-else is asked once: the customer had the last word, it closes now.
            await self.customer.until("closed", chat_id=self.chat_id, by="agent")
            self.state = "closed"
            self.expected["closing"] += 1
            self.tally["closed_at_once"] += 1
        else:
            await self.customer.until("closing", chat_id=self.chat_id)
            self.state, self.asked = "closing", True
            self.expected["anything_else"] += 1

    # -- time -----------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([1, 3]))
    def time_passes(self, seconds: int) -> None:
        self.step(self._time_passes(seconds))

    async def _time_passes(self, seconds: int) -> None:
        await self.servers[seconds % 2].advance(seconds)

    @precondition(lambda self: self.state == "closing")
    @rule()
    def grace_runs_out(self) -> None:
        self.step(self._grace_runs_out())

    async def _grace_runs_out(self) -> None:
        assert self.customer is not None
        await self.servers[self.customer_home].advance(GRACE_S)
        await self.customer.until("closed", chat_id=self.chat_id, by="agent")
        self.state = "closed"
        self.expected["closing"] += 1

    # -- the invariants -------------------------------------------------------------------

    @invariant()
    def stored_as_acknowledged(self) -> None:
        if self.customer is not None:
            self.step(self._check())

    async def _check(self) -> None:
        async with self.servers[0].runtime.units.read() as session:
            messages = (
                await session.execute(
                    select(Message.seq, Message.client_key, Message.template).where(
                        Message.chat_id == self.chat_id
                    )
                )
            ).all()
            waits = (
                await session.execute(
                    select(Reply.wait_ms, Reply.first_response_ms).where(
                        Reply.chat_id == self.chat_id
                    )
                )
            ).all()
        seqs = sorted(seq for seq, _, _ in messages)
        assert seqs == list(range(1, len(seqs) + 1)), f"seq gap or duplicate: {seqs}"
        keys = Counter(key for _, key, _ in messages if key is not None)
        assert all(n == 1 for n in keys.values()), f"stored twice: {keys}"
        stored = {key: seq for seq, key, _ in messages if key is not None}
        for key, seq in self.acks.items():
            assert stored.get(key) == seq, f"{key} acked with seq {seq}, stored {stored.get(key)}"
        templates = Counter(template for _, _, template in messages if template is not None)
        for template, count in self.expected.items():
            assert templates[template] == count, f"{template}: {templates}, want {self.expected}"
        if self.state != "closed":
            assert templates["closing"] == 0, templates
        for wait_ms, first_ms in waits:
            assert wait_ms >= 0 and (first_ms is None or first_ms >= 0), waits


def test_one_chats_life_across_two_processes_keeps_its_invariants(
    backend: SqliteTemplate | PostgresTemplate, database_url: str, own_redis: RedisProcess
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("two processes share PostgreSQL, not an SQLite file")
    with servers_on_a_loop(database_url, own_redis.url) as (run, one, two):
        run_state_machine_as_test(
            lambda: ChatLife(run, (one, two)),
            settings=settings(
                max_examples=EXAMPLES,
                stateful_step_count=STEPS,
                derandomize=True,  # the same examples on every run: it cannot flake in CI
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            ),
        )
    print(f"\nchat model: {EXAMPLES} chats, steps {dict(sorted(ChatLife.tally.items()))}")
    # Every kind of step was taken: a model whose rules never ran would prove nothing.
    assert {
        "customer_says",
        "customer_reconnects",
        "agent_says",
        "agent_reconnects",
        "hold",
        "transfer",
        "close",
        "grace_runs_out",
        "reopen_in_grace",
        "closed_at_once",
        "check",
    } <= set(ChatLife.tally), ChatLife.tally

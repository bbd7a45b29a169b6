"""The timers of a chat, applied: the decisions are service/chats/machine.py's, made here real.

Each method loads the chat's state, asks the machine what the event means and applies the
effects it returns in the unit of work (fields set on the row, templates said, frames queued,
timers armed or cancelled, replies and timing events stored). This is the only place that writes
the fields of a chat's conversation timers.

At any moment a chat's conversation is in one state, so it runs one timer: the customer waits
for an answer (long wait), the agent holds (hold), it is the customer's turn (idle), or the
agent has closed (closing grace). That timer is one durable row (service/timers), keyed
``conversation:<chat>``, armed in the unit of work of the change that starts it and replacing
whichever ran before; the silent-agent timer (``accept:<chat>``) runs beside it, tied to an
assignment. The chat row holds the state a handler checks when it fires, so one that lost a
race does nothing. docs/timing.md explains each rule and why it works this way.

- long wait (S-long-wait, S-max-wait): a customer message no agent has answered starts a wait;
  after ``KEFU_LONG_WAIT_S`` the apology goes out, once per wait.
- hold (S-hold, S-hold-back): the agent asked the customer to wait; after ``KEFU_HOLD_S`` the
  customer gets the apology, the agent a reminder, and their next message the acknowledgement.
- silent agent: no word from a newly assigned agent within ``KEFU_ACCEPT_TIMEOUT_S`` hands the
  chat on and sets the agent away.
- idle customer (S-no-response): no customer message for ``KEFU_IDLE_PROMPT_S`` after the agent
  spoke: a prompt; none for ``KEFU_IDLE_CLOSE_S`` more: the chat closes (``by: "idle"``).
- closing grace (S-customer-ends, S-anything-else): an agent's close asks once more and leaves
  ``KEFU_CLOSE_GRACE_S`` for the customer to answer.

Reply timing (S-no-silence, S-answer-fast) is recorded here too: every agent reply that ends a
wait stores a ``Reply`` row; apologies and silent-agent reassignments a ``TimingEvent``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Protocol

from service.chats import machine, routing
from service.chats.machine import (
    ACCEPT,
    ACCEPT_TIMEOUT,
    CLOSE_GRACE,
    HOLD,
    HOLD_EXPIRED,
    IDLE_CLOSE,
    IDLE_PROMPT,
    LONG_WAIT,
    Conversation,
    Effect,
    Limits,
)
from service.chats.repository import locked_chat
from service.chats.routing import agent_address
from service.chats.rows import set_fields
from service.db import new_messages
from service.db.models import (
    Agent,
    AgentStatus,
    Chat,
    ChatStatus,
    Customer,
    Message,
    Reply,
    Timer,
    TimingEvent,
)
from service.db.unit_of_work import Units, Work
from service.errors import InvalidState
from service.realtime import events
from service.settings import Settings
from service.timers import Scheduler, arm, cancel

__all__ = ["ACCEPT_TIMEOUT", "APOLOGIES", "HOLD_EXPIRED", "LONG_WAIT", "Timing"]

APOLOGIES = (LONG_WAIT, HOLD_EXPIRED)


# What a timer's firing means for the chat (a machine function of its state and the time).
Decide = Callable[[Conversation, datetime], list[Effect]]


class Say(Protocol):
    """Store and send a template in the chat (the chat service's ``template``)."""

    async def __call__(
        self, work: Work, chat: Chat, key: str, *, notify_agent: bool = True, **variables: str
    ) -> None: ...


class Close(Protocol):
    """End the chat (the chat service's ``close``: hooks, timers, the freed seat)."""

    async def __call__(self, work: Work, chat: Chat, *, by: str, template: str | None) -> None: ...


def limits(settings: Settings) -> Limits:
    return Limits(
        long_wait_s=settings.long_wait_s,
        hold_s=settings.hold_s,
        accept_timeout_s=settings.accept_timeout_s,
        idle_prompt_s=settings.idle_prompt_s,
        idle_close_s=settings.idle_close_s,
        close_grace_s=settings.close_grace_s,
    )


class Timing:
    def __init__(
        self, settings: Settings, scheduler: Scheduler, units: Units, *, say: Say, close: Close
    ) -> None:
        self.limits = limits(settings)
        self.metrics = units.metrics
        self._say = say
        self._close = close
        bounds = self.limits
        scheduler.register(LONG_WAIT, self._when_due(machine.long_wait_due))
        scheduler.register(HOLD, self._when_due(machine.hold_due))
        scheduler.register(ACCEPT, self._accept_timeout)
        scheduler.register(
            IDLE_PROMPT, self._when_due(lambda c, now: machine.idle_prompt_due(c, now, bounds))
        )
        scheduler.register(IDLE_CLOSE, self._when_due(lambda c, _now: machine.idle_close_due(c)))
        scheduler.register(CLOSE_GRACE, self._when_due(lambda c, _now: machine.grace_due(c)))
        units.on_assigned.append(self.assigned)

    async def apply(
        self, work: Work, chat: Chat, effects: Sequence[Effect], message: Message | None = None
    ) -> None:
        """Make the machine's decisions real, in order, in this unit of work."""
        for effect in effects:
            match effect:
                case machine.Set(fields):
                    set_fields(chat, fields)
                case machine.Say(key, notify_agent):
                    await self._say(work, chat, key, notify_agent=notify_agent)
                case machine.Send("audience", frame):
                    work.send(routing.audience(chat), frame)
                case machine.Send(_, frame):
                    if chat.agent_id is not None:
                        work.send(agent_address(chat.agent_id), frame)
                case machine.Arm(kind, key, due, payload):
                    await arm(work, kind, key, due, payload)
                case machine.Cancel(keys):
                    await cancel(work, *keys)
                case machine.RecordReply(wait_ms, first_response_ms):
                    assert message is not None and message.agent_id is not None
                    if self.metrics is not None:
                        self.metrics.reply_wait_seconds.observe(wait_ms / 1000)
                    # Added once the message has its id (service/db/new_messages.py).
                    new_messages.then(
                        work.session, partial(_reply, message, wait_ms, first_response_ms)
                    )
                case machine.RecordEvent(kind, waited_ms):
                    work.session.add(
                        TimingEvent(
                            chat_id=chat.id,
                            agent_id=chat.agent_id,
                            kind=kind,
                            at=work.now,
                            waited_ms=waited_ms,
                        )
                    )
                case machine.SetAgentAway(agent_id):
                    agent = await work.session.get_one(Agent, agent_id)
                    agent.status = AgentStatus.away
                    work.send(agent_address(agent.id), events.Status(agent.status))
                case machine.Requeue(why):
                    await routing.route(work, chat, why)
                case machine.Close(by, template):
                    await self._close(work, chat, by=by, template=template)
                case machine.Flag(reason):
                    customer = await work.session.get_one(Customer, chat.customer_id)
                    if customer.flagged_at is None:
                        customer.flagged_at = work.now
                        customer.flag_reason = reason

    # -- what the chat service tells the timers --------------------------------------------------

    async def customer_wrote(self, work: Work, chat: Chat, message: Message) -> None:
        state = Conversation.of(chat)
        await self.apply(
            work, chat, machine.customer_wrote(state, message.created_at, work.now, self.limits)
        )

    async def before_agent_message(self, work: Work, chat: Chat, hold_back: bool | None) -> None:
        """The agent is back from a hold: S-hold-back goes out first when due or asked for."""
        await self.apply(work, chat, machine.agent_writes(Conversation.of(chat), hold_back))

    async def agent_wrote(self, work: Work, chat: Chat, message: Message) -> None:
        state = Conversation.of(chat)
        effects = machine.agent_wrote(state, message.created_at, work.now, self.limits)
        await self.apply(work, chat, effects, message)

    async def hold(self, work: Work, chat: Chat) -> None:
        try:
            effects = machine.hold(Conversation.of(chat), work.now, self.limits)
        except machine.Refused as exc:
            raise InvalidState(str(exc)) from None
        await self.apply(work, chat, effects)

    async def agent_closing(self, work: Work, chat: Chat) -> None:
        """The agent closes: the grace starts (S-customer-ends), or the chat closes now."""
        try:
            effects = machine.agent_closing(Conversation.of(chat), work.now, self.limits)
        except machine.Refused as exc:
            raise InvalidState(str(exc)) from None
        await self.apply(work, chat, effects)

    async def assigned(self, work: Work, chat: Chat) -> None:
        """Routing handed the chat to an agent: queue time is stored, the agent's timer starts."""
        await self.apply(work, chat, machine.assigned(Conversation.of(chat), work.now, self.limits))

    async def unassigned(self, work: Work, chat: Chat) -> None:
        """The chat leaves its agent for the queue: the wait's timer goes on, no other."""
        effects = machine.unassigned(Conversation.of(chat), work.now, self.limits)
        await self.apply(work, chat, effects)

    # -- what happens when a timer runs out ---------------------------------------------------

    async def _fired(self, work: Work, timer: Timer) -> tuple[Chat, Conversation] | None:
        chat = await locked_chat(work, timer.payload["chat_id"])
        if chat is None or chat.status == ChatStatus.closed:
            return None
        return chat, Conversation.of(chat)

    def _when_due(self, decide: Decide) -> Callable[[Work, Timer], Awaitable[None]]:
        """A timer handler: the chat's state, if still open, and what the machine decides."""

        async def fired(work: Work, timer: Timer) -> None:
            if found := await self._fired(work, timer):
                chat, state = found
                await self.apply(work, chat, decide(state, work.now))

        return fired

    async def _accept_timeout(self, work: Work, timer: Timer) -> None:
        if found := await self._fired(work, timer):
            chat, state = found
            agent_id = timer.payload.get("agent_id")
            online = False
            if agent_id is not None and agent_id == chat.agent_id:
                agent = await work.session.get_one(Agent, agent_id)
                online = agent.status == AgentStatus.online
            effects = machine.accept_due(state, agent_id, online, work.now, self.limits)
            await self.apply(work, chat, effects)


def _reply(message: Message, wait_ms: int, first_response_ms: int | None) -> Reply:
    """The wait an agent message ended (S-no-silence), once the message has its id."""
    assert message.agent_id is not None
    return Reply(
        chat_id=message.chat_id,
        message_id=message.id,
        agent_id=message.agent_id,
        at=message.created_at,
        wait_ms=wait_ms,
        first_response_ms=first_response_ms,
    )

"""The clocks of a chat: what starts and stops them, and what happens when one runs out.

At any moment a chat's conversation is in one state, so it runs one clock: the customer waits
for an answer (long wait), the agent holds (hold), it is the customer's turn (idle), or the
agent has closed (closing grace). That clock is one durable timer (service/timers), keyed
``clock:<chat>``, armed in the unit of work of the change that starts it and replacing whichever
ran before; the silent-agent timer (``accept:<chat>``) runs beside it, tied to an assignment.
The chat row holds the state a handler checks when it fires, so one that lost a race does
nothing. docs/timing.md explains each rule and why it works this way.

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

from datetime import datetime, timedelta
from typing import Protocol

from service.chats import routing
from service.chats.frames import iso
from service.chats.routing import agent_address
from service.db.models import (
    Agent,
    AgentStatus,
    Chat,
    ChatStatus,
    Message,
    Reply,
    Timer,
    TimingEvent,
)
from service.errors import InvalidState
from service.settings import Settings
from service.timers import Scheduler, arm, cancel
from service.unit import Units, Work

LONG_WAIT = "long_wait"
HOLD = "hold"
ACCEPT = "accept"
IDLE_PROMPT = "idle_prompt"
IDLE_CLOSE = "idle_close"
CLOSE_GRACE = "close_grace"

# Timing event kinds (the reports count them).
HOLD_EXPIRED = "hold_expired"
ACCEPT_TIMEOUT = "accept_timeout"
APOLOGIES = (LONG_WAIT, HOLD_EXPIRED)


class Say(Protocol):
    async def __call__(
        self, work: Work, chat: Chat, key: str, *, notify_agent: bool = True
    ) -> None: ...


class Close(Protocol):
    async def __call__(self, work: Work, chat: Chat, *, by: str, template: str | None) -> None: ...


def clock(chat: Chat) -> str:
    """The key of the chat's conversation clock: long wait, hold, idle or closing grace."""
    return f"clock:{chat.id}"


def accept(chat: Chat) -> str:
    """The key of the silent-agent timer of the chat's current assignment."""
    return f"accept:{chat.id}"


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


async def locked_chat(work: Work, chat_id: int) -> Chat | None:
    """The chat row, locked for this unit on PostgreSQL (SQLite has one writer anyway).

    Once locked, the row is this transaction's until it ends: the loaded object is current.
    """
    if work.is_postgres and chat_id not in work.locked:
        chat = await work.session.get(Chat, chat_id, with_for_update=True, populate_existing=True)
        work.locked.add(chat_id)
        return chat
    return await work.session.get(Chat, chat_id)


class Timing:
    def __init__(
        self, settings: Settings, scheduler: Scheduler, units: Units, *, say: Say, close: Close
    ) -> None:
        self.settings = settings
        self._say = say
        self._close = close
        scheduler.register(LONG_WAIT, self._long_wait)
        scheduler.register(HOLD, self._hold_expired)
        scheduler.register(ACCEPT, self._accept_timeout)
        scheduler.register(IDLE_PROMPT, self._idle_prompt)
        scheduler.register(IDLE_CLOSE, self._idle_close)
        scheduler.register(CLOSE_GRACE, self._grace_over)
        units.on_assigned.append(self.assigned)

    def _after(self, work: Work, seconds: float) -> datetime:
        return work.now + timedelta(seconds=seconds)

    async def _run(self, work: Work, chat: Chat, kind: str, due: datetime) -> None:
        """Start the chat's clock as ``kind``, replacing whichever was running."""
        await arm(work, kind, clock(chat), due, {"chat_id": chat.id})

    # -- what the chat service tells the clocks --------------------------------------------------

    async def customer_wrote(self, work: Work, chat: Chat, message: Message) -> None:
        if chat.first_customer_at is None:
            chat.first_customer_at = message.created_at
        if chat.closes_at is not None:
            # S-customer-ends: an answer in the grace reopens the chat with the same agent (the
            # wait that starts now replaces the grace's clock).
            chat.closes_at = None
            work.send(routing.audience(chat), {"type": "reopened", "chat_id": chat.id})
        if chat.waiting_since is None:
            chat.waiting_since = message.created_at
            chat.wait_apologized = False
            if chat.held_since is None or chat.hold_expired:
                await self._run(work, chat, LONG_WAIT, self._after(work, self.settings.long_wait_s))
            # else the running hold ends first and apologises for this wait too
            if chat.status == ChatStatus.assigned and not chat.agent_answered:
                # The silent-agent clock counts from the first message the agent has to answer.
                await self._expect_answer(work, chat)

    async def before_agent_message(self, work: Work, chat: Chat, hold_back: bool | None) -> None:
        """The agent is back from a hold: S-hold-back goes out first when due or asked for."""
        if chat.held_since is None:
            return
        if chat.hold_expired if hold_back is None else hold_back:
            await self._say(work, chat, "hold_back")
        chat.held_since = None
        chat.hold_expired = False  # the hold's clock is replaced in agent_wrote

    async def agent_wrote(self, work: Work, chat: Chat, message: Message) -> None:
        if not chat.agent_answered:
            chat.agent_answered = True
            await cancel(work, accept(chat))
        if chat.asked_anything_else:
            chat.asked_anything_else = False
        if chat.waiting_since is not None:
            await self._record_reply(work, chat, message)
        if chat.closes_at is None:
            # The customer's turn starts at the agent's last word.
            await self._run(work, chat, IDLE_PROMPT, self._after(work, self.settings.idle_prompt_s))

    async def _record_reply(self, work: Work, chat: Chat, message: Message) -> None:
        assert chat.waiting_since is not None and message.agent_id is not None
        first: int | None = None
        if chat.first_response_ms is None and chat.first_customer_at is not None:
            first = chat.first_response_ms = ms(message.created_at - chat.first_customer_at)
        work.session.add(
            Reply(
                chat_id=chat.id,
                message=message,
                agent_id=message.agent_id,
                at=message.created_at,
                wait_ms=ms(message.created_at - chat.waiting_since),
                first_response_ms=first,
            )
        )
        chat.waiting_since = None
        chat.wait_apologized = False

    async def hold(self, work: Work, chat: Chat) -> None:
        if chat.closes_at is not None:
            raise InvalidState("this chat is closing")
        await self._say(work, chat, "hold")
        chat.held_since = work.now
        chat.hold_expired = False
        if not chat.agent_answered:
            chat.agent_answered = True
            await cancel(work, accept(chat))
        # S-max-wait, hold included: the hold's clock replaces the wait's; nobody is idle.
        await self._run(work, chat, HOLD, self._after(work, self.settings.hold_s))

    async def agent_closing(self, work: Work, chat: Chat) -> bool:
        """The agent closes: start the grace (S-customer-ends); True when it closes now."""
        if chat.closes_at is not None:
            raise InvalidState("this chat is already closing")
        # S-anything-else is asked once: closing again after the customer's answer, with no
        # word from the agent in between, closes at once (the customer had the last word).
        if chat.asked_anything_else or self.settings.close_grace_s == 0:
            return True
        # Closing ends the wait: the agent judged the last message needs no answer.
        chat.waiting_since = None
        chat.held_since = None
        chat.hold_expired = False
        await cancel(work, accept(chat))
        await self._say(work, chat, "anything_else")
        chat.asked_anything_else = True
        chat.closes_at = self._after(work, self.settings.close_grace_s)
        await self._run(work, chat, CLOSE_GRACE, chat.closes_at)
        work.send(
            routing.audience(chat),
            {"type": "closing", "chat_id": chat.id, "closes_at": iso(chat.closes_at)},
        )
        return False

    async def assigned(self, work: Work, chat: Chat) -> None:
        """Routing handed the chat to an agent: queue time is stored, the agent's clock starts."""
        if chat.queued_since is not None:
            chat.queue_ms += ms(work.now - chat.queued_since)
            chat.queued_since = None
        chat.agent_answered = False
        if chat.waiting_since is not None:
            await self._expect_answer(work, chat)
        # else a customer who has said nothing yet: nobody is silent on them (customer_wrote).

    async def _expect_answer(self, work: Work, chat: Chat) -> None:
        """Start the silent-agent clock of the chat's assignment (S-answer-fast)."""
        due = self._after(work, self.settings.accept_timeout_s)
        await arm(work, ACCEPT, accept(chat), due, {"chat_id": chat.id, "agent_id": chat.agent_id})

    async def unassigned(self, work: Work, chat: Chat) -> None:
        """The chat leaves its agent for the queue: the wait's clock goes on, no other."""
        held_since = chat.held_since
        chat.held_since = None
        chat.hold_expired = False
        chat.agent_answered = False
        if held_since is not None and chat.waiting_since is not None and not chat.wait_apologized:
            # The hold's clock stood for the wait's: it runs again from the hold's word.
            start = max(chat.waiting_since, held_since)
            due = max(work.now, start + timedelta(seconds=self.settings.long_wait_s))
            await self._run(work, chat, LONG_WAIT, due)
            await cancel(work, accept(chat))
        elif chat.waiting_since is None or held_since is not None:
            await cancel(work, accept(chat), clock(chat))  # idle, or a hold past its apology
        else:
            await cancel(work, accept(chat))  # the wait's own clock runs on

    async def ended(self, work: Work, chat: Chat) -> None:
        """The chat closed: every clock stops."""
        chat.waiting_since = None
        chat.held_since = None
        chat.hold_expired = False
        chat.closes_at = None
        await cancel(work, clock(chat), accept(chat))

    # -- what happens when a clock runs out ---------------------------------------------------

    async def _long_wait(self, work: Work, timer: Timer) -> None:
        chat = await self._live(work, timer)
        if chat is None or chat.waiting_since is None or chat.wait_apologized:
            return
        if chat.held_since is not None and not chat.hold_expired:
            return  # the hold's own clock speaks for this wait
        # S-long-wait: once per wait.
        await self._say(work, chat, "long_wait")
        chat.wait_apologized = True
        waited = work.now - chat.waiting_since
        self._event(work, chat, LONG_WAIT, waited)
        if chat.agent_id is not None:
            work.send(
                agent_address(chat.agent_id),
                {
                    "type": "timing",
                    "chat_id": chat.id,
                    "waiting_since": iso(chat.waiting_since),
                    "waited_s": seconds(waited),
                },
            )

    async def _hold_expired(self, work: Work, timer: Timer) -> None:
        chat = await self._live(work, timer)
        if chat is None or chat.held_since is None or chat.hold_expired:
            return
        # S-max-wait, hold included: the customer gets the apology, the agent a reminder.
        await self._say(work, chat, "long_wait")
        chat.hold_expired = True
        if chat.waiting_since is not None:
            chat.wait_apologized = True
        held = work.now - chat.held_since
        self._event(work, chat, HOLD_EXPIRED, held)
        if chat.agent_id is not None:
            work.send(
                agent_address(chat.agent_id),
                {
                    "type": "reminder",
                    "chat_id": chat.id,
                    "reason": HOLD_EXPIRED,
                    "held_since": iso(chat.held_since),
                    "held_s": seconds(held),
                },
            )

    async def _accept_timeout(self, work: Work, timer: Timer) -> None:
        chat = await self._live(work, timer)
        agent_id = timer.payload.get("agent_id")
        if chat is None or chat.agent_id != agent_id or chat.agent_answered:
            return
        if chat.closes_at is not None:
            return
        agent = await work.session.get_one(Agent, agent_id)
        # Silent since the later of the assignment and the customer's unanswered message.
        since = max(chat.assigned_at or work.now, chat.waiting_since or work.now)
        self._event(work, chat, ACCEPT_TIMEOUT, work.now - since)
        work.send(
            agent_address(agent.id),
            {"type": "unassigned", "chat_id": chat.id, "reason": ACCEPT_TIMEOUT},
        )
        # An agent who does not answer is likely away from the desk: no new chats until they
        # say they are back (as call centres do on "redirect on no answer").
        if agent.status == AgentStatus.online:
            agent.status = AgentStatus.away
            work.send(agent_address(agent.id), {"type": "status", "status": agent.status})
        await self.unassigned(work, chat)
        await self._say(work, chat, "reassigned", notify_agent=False)
        chat.priority = 1
        await routing.route(work, chat)

    async def _idle_prompt(self, work: Work, timer: Timer) -> None:
        chat = await self._idle(work, timer)
        if chat is None:
            return
        await self._say(work, chat, "no_response")
        due = self._after(work, self.settings.idle_close_s)
        await self._run(work, chat, IDLE_CLOSE, due)

    async def _idle_close(self, work: Work, timer: Timer) -> None:
        chat = await self._idle(work, timer)
        if chat is not None:
            await self._close(work, chat, by="idle", template="closing")

    async def _grace_over(self, work: Work, timer: Timer) -> None:
        chat = await self._live(work, timer)
        if chat is not None and chat.closes_at is not None:
            await self._close(work, chat, by="agent", template="closing")

    async def _live(self, work: Work, timer: Timer) -> Chat | None:
        chat = await locked_chat(work, timer.payload["chat_id"])
        if chat is None or chat.status == ChatStatus.closed:
            return None
        return chat

    async def _idle(self, work: Work, timer: Timer) -> Chat | None:
        """The chat, if its customer is still the one expected to speak."""
        chat = await self._live(work, timer)
        if chat is None or chat.status != ChatStatus.assigned or chat.waiting_since is not None:
            return None
        if chat.held_since is not None or chat.closes_at is not None:
            return None
        return chat

    def _event(self, work: Work, chat: Chat, kind: str, waited: timedelta) -> None:
        work.session.add(
            TimingEvent(
                chat_id=chat.id,
                agent_id=chat.agent_id,
                kind=kind,
                at=work.now,
                waited_ms=ms(waited),
            )
        )


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)

"""The conversation machine: what each event of a chat's conversation decides, with no I/O.

The shape of python-websockets' sans-I/O ``Protocol`` (STYLE.md): every function takes the chat's
plain state (``Conversation``), the time of the event and the limits, and returns the effects
to apply, in order: fields to set, templates to say, frames to send, timers to arm or cancel,
a reply wait or timing event to record, a return to the queue. Nothing here awaits, queries or
reads the time; ``service/chats/timing.py`` loads the state, calls the machine and applies what
it returns in the unit of work. The rules and why they work so are in docs/timing.md.

- S-long-wait, S-max-wait: a customer message no agent has answered starts a wait; after
  ``long_wait_s`` the apology goes out, once per wait (``customer_wrote``, ``long_wait_due``).
- S-hold, S-hold-back: a hold replaces the wait's timer; when it runs out the customer gets the
  apology and the agent a reminder; the agent's next message is preceded by the
  acknowledgement when due or asked for (``hold``, ``hold_due``, ``agent_writes``).
- S-answer-fast (silent agent): an assigned agent with something to answer who says nothing for
  ``accept_timeout_s`` loses the chat and is set away (``assigned``, ``accept_due``).
- S-no-response: the customer's turn starts at the agent's last word: a prompt, then the close
  (``agent_wrote``, ``idle_prompt_due``, ``idle_close_due``).
- S-customer-ends, S-anything-else: an agent's close asks once more and leaves a grace; an
  answer in it reopens the chat (``agent_closing``, ``customer_wrote``, ``grace_due``).
- S-no-silence: every agent reply that ends a wait records the wait (``agent_wrote``).

And where the chat is in its life (``joined_line``, ``assign_to``, ``requeued``,
``returned_to_queue``, ``moved_to_group``, ``closed``), and S-abuse (``customer_abusive``,
``abuse_warned``): every field of a chat row changes through a ``Set`` of one of these, applied in
one place (``service/chats/rows.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from service.chats.frames import iso
from service.realtime import events

# Timer kinds (service/timers runs them) and timing event kinds (the reports count them).
LONG_WAIT = "long_wait"
HOLD = "hold"
ACCEPT = "accept"
IDLE_PROMPT = "idle_prompt"
IDLE_CLOSE = "idle_close"
CLOSE_GRACE = "close_grace"
HOLD_EXPIRED = "hold_expired"
ACCEPT_TIMEOUT = "accept_timeout"

ASSIGNED, QUEUED, CLOSED = "assigned", "queued", "closed"


def timer_key(chat_id: int) -> str:
    """The chat's one conversation timer: long wait, hold, idle or closing grace."""
    return f"conversation:{chat_id}"


def accept_key(chat_id: int) -> str:
    """The silent-agent timer of the chat's current assignment."""
    return f"accept:{chat_id}"


def ms(delta: timedelta) -> int:
    return round(delta.total_seconds() * 1000)


def seconds(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)


@dataclass(frozen=True)
class Limits:
    """The timing settings, in seconds (KEFU_LONG_WAIT_S, …)."""

    long_wait_s: float = 60.0
    hold_s: float = 60.0
    accept_timeout_s: float = 90.0
    idle_prompt_s: float = 300.0
    idle_close_s: float = 120.0
    close_grace_s: float = 30.0


@dataclass
class Conversation:
    """What the machine reads of a chat: plain values, copied from its row."""

    chat_id: int
    status: str
    agent_id: int | None = None
    assigned_at: datetime | None = None
    queued_since: datetime | None = None
    queue_ms: int = 0
    first_customer_at: datetime | None = None
    first_response_ms: int | None = None
    waiting_since: datetime | None = None
    wait_apologized: bool = False
    held_since: datetime | None = None
    hold_expired: bool = False
    agent_answered: bool = False
    asked_anything_else: bool = False
    closes_at: datetime | None = None
    queued_at: datetime | None = None
    abuse_warned_at: datetime | None = None

    # The row's fields the machine reads (all but the id), derived below from the dataclass.
    FIELDS: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def of(cls, row: Any) -> Conversation:
        return cls(row.id, **{name: getattr(row, name) for name in cls.FIELDS})


Conversation.FIELDS = tuple(f.name for f in fields(Conversation) if f.name != "chat_id")


# -- effects ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Set:
    """Fields of the chat to change (the only way the machine changes one)."""

    fields: dict[str, Any]


@dataclass(frozen=True)
class Say:
    """Store and send a template (to the customer only, or to the agent too)."""

    key: str
    notify_agent: bool = True


@dataclass(frozen=True)
class Send:
    """A frame to the chat's audience (customer tabs and its agent) or to its agent only."""

    to: Literal["audience", "agent"]
    frame: events.Event


@dataclass(frozen=True)
class Arm:
    kind: str
    key: str
    due: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Cancel:
    keys: tuple[str, ...]


@dataclass(frozen=True)
class RecordReply:
    """An agent reply ended a wait (S-no-silence); the first one is the first response."""

    wait_ms: int
    first_response_ms: int | None


@dataclass(frozen=True)
class RecordEvent:
    """An apology or a silent-agent reassignment, counted in the reports."""

    kind: str
    waited_ms: int


@dataclass(frozen=True)
class SetAgentAway:
    """The silent agent gets no new chats until they say they are back."""

    agent_id: int


@dataclass(frozen=True)
class Requeue:
    """Back to the front of the queue (and to the next free agent); ``why`` it left its agent."""

    why: str = ACCEPT_TIMEOUT


@dataclass(frozen=True)
class Close:
    by: str
    template: str | None


@dataclass(frozen=True)
class Flag:
    """Mark the chat's customer (S-abuse: supervisors see who was cut off, and why)."""

    reason: str


Effect = (
    Set
    | Say
    | Send
    | Arm
    | Cancel
    | RecordReply
    | RecordEvent
    | SetAgentAway
    | Requeue
    | Close
    | Flag
)


def _after(now: datetime, s: float) -> datetime:
    return now + timedelta(seconds=s)


def _run(c: Conversation, kind: str, due: datetime) -> Arm:
    """Start the chat's timer as ``kind``, replacing whichever was running."""
    return Arm(kind, timer_key(c.chat_id), due, {"chat_id": c.chat_id})


def _expect_answer(c: Conversation, now: datetime, limits: Limits) -> Arm:
    """The silent-agent timer of the assignment, from the first message it has to answer."""
    due = _after(now, limits.accept_timeout_s)
    return Arm(ACCEPT, accept_key(c.chat_id), due, {"chat_id": c.chat_id, "agent_id": c.agent_id})


# -- what happens in the chat -----------------------------------------------------------------


def customer_wrote(c: Conversation, at: datetime, now: datetime, limits: Limits) -> list[Effect]:
    effects: list[Effect] = []
    if c.first_customer_at is None:
        effects.append(Set({"first_customer_at": at}))
    if c.closes_at is not None:
        # S-customer-ends: an answer in the grace reopens the chat with the same agent (the
        # wait that starts now replaces the grace's timer).
        effects.append(Set({"closes_at": None}))
        effects.append(Send("audience", events.Reopened(c.chat_id)))
    if c.waiting_since is None:
        effects.append(Set({"waiting_since": at, "wait_apologized": False}))
        if c.held_since is None or c.hold_expired:
            effects.append(_run(c, LONG_WAIT, _after(now, limits.long_wait_s)))
        # else the running hold ends first and apologises for this wait too
        if c.status == ASSIGNED and not c.agent_answered:
            # S-answer-fast: the silent-agent timer counts from the first unanswered message.
            effects.append(_expect_answer(c, now, limits))
    return effects


def agent_writes(c: Conversation, hold_back: bool | None) -> list[Effect]:
    """Before the agent's message is stored: back from a hold, S-hold-back goes out first."""
    if c.held_since is None:
        return []
    effects: list[Effect] = []
    if c.hold_expired if hold_back is None else hold_back:
        effects.append(Say("hold_back"))
    # The hold's timer is replaced in agent_wrote.
    effects.append(Set({"held_since": None, "hold_expired": False}))
    return effects


def agent_wrote(c: Conversation, at: datetime, now: datetime, limits: Limits) -> list[Effect]:
    effects: list[Effect] = []
    if not c.agent_answered:
        effects += [Set({"agent_answered": True}), Cancel((accept_key(c.chat_id),))]
    if c.asked_anything_else:
        effects.append(Set({"asked_anything_else": False}))
    if c.waiting_since is not None:
        first: int | None = None
        if c.first_response_ms is None and c.first_customer_at is not None:
            first = ms(at - c.first_customer_at)
            effects.append(Set({"first_response_ms": first}))
        effects.append(RecordReply(ms(at - c.waiting_since), first))
        effects.append(Set({"waiting_since": None, "wait_apologized": False}))
    if c.closes_at is None:
        # The customer's turn starts at the agent's last word.
        effects.append(_run(c, IDLE_PROMPT, _after(now, limits.idle_prompt_s)))
    return effects


class Refused(Exception):
    """The event is not allowed in the chat's state (the service answers invalid_state)."""


def hold(c: Conversation, now: datetime, limits: Limits) -> list[Effect]:
    if c.closes_at is not None:
        raise Refused("this chat is closing")
    effects: list[Effect] = [Say("hold"), Set({"held_since": now, "hold_expired": False})]
    if not c.agent_answered:
        effects += [Set({"agent_answered": True}), Cancel((accept_key(c.chat_id),))]
    # S-max-wait, hold included: the hold's timer replaces the wait's; nobody is idle.
    effects.append(_run(c, HOLD, _after(now, limits.hold_s)))
    return effects


def agent_closing(c: Conversation, now: datetime, limits: Limits) -> list[Effect]:
    """The agent closes: the grace starts (S-customer-ends), or the chat closes now."""
    if c.closes_at is not None:
        raise Refused("this chat is already closing")
    # S-anything-else is asked once: closing again after the customer's answer, with no word
    # from the agent in between, closes at once (the customer had the last word).
    if c.asked_anything_else or limits.close_grace_s == 0:
        return [Close("agent", "closing")]
    closes_at = _after(now, limits.close_grace_s)
    return [
        # Closing ends the wait: the agent judged the last message needs no answer.
        Set({"waiting_since": None, "held_since": None, "hold_expired": False}),
        Cancel((accept_key(c.chat_id),)),
        Say("anything_else"),
        Set({"asked_anything_else": True, "closes_at": closes_at}),
        _run(c, CLOSE_GRACE, closes_at),
        Send("audience", events.Closing(c.chat_id, iso(closes_at))),
    ]


def assigned(c: Conversation, now: datetime, limits: Limits) -> list[Effect]:
    """Routing handed the chat to an agent: queue time is stored, the agent's timer starts."""
    effects: list[Effect] = []
    if c.queued_since is not None:
        effects.append(
            Set({"queue_ms": c.queue_ms + ms(now - c.queued_since), "queued_since": None})
        )
    effects.append(Set({"agent_answered": False}))
    if c.waiting_since is not None:
        effects.append(_expect_answer(c, now, limits))
    # else a customer who has said nothing yet: nobody is silent on them (customer_wrote).
    return effects


def unassigned(c: Conversation, now: datetime, limits: Limits) -> list[Effect]:
    """The chat leaves its agent for the queue: the wait's timer goes on, no other."""
    effects: list[Effect] = [
        Set({"held_since": None, "hold_expired": False, "agent_answered": False})
    ]
    accept, timer = accept_key(c.chat_id), timer_key(c.chat_id)
    if c.held_since is not None and c.waiting_since is not None and not c.wait_apologized:
        # The hold's timer stood for the wait's: it runs again from the hold's word.
        start = max(c.waiting_since, c.held_since)
        due = max(now, start + timedelta(seconds=limits.long_wait_s))
        effects += [_run(c, LONG_WAIT, due), Cancel((accept,))]
    elif c.waiting_since is None or c.held_since is not None:
        effects.append(Cancel((accept, timer)))  # idle, or a hold past its apology
    else:
        effects.append(Cancel((accept,)))  # the wait's own timer runs on
    return effects


def ended(c: Conversation) -> list[Effect]:
    """The chat closed: every timer stops."""
    return [
        Set({"waiting_since": None, "held_since": None, "hold_expired": False, "closes_at": None}),
        Cancel((timer_key(c.chat_id), accept_key(c.chat_id))),
    ]


# -- what happens when a timer runs out -------------------------------------------------------


def long_wait_due(c: Conversation, now: datetime) -> list[Effect]:
    if c.status == CLOSED or c.waiting_since is None or c.wait_apologized:
        return []
    if c.held_since is not None and not c.hold_expired:
        return []  # the hold's own timer speaks for this wait
    # S-long-wait: once per wait.
    waited = now - c.waiting_since
    effects: list[Effect] = [
        Say("long_wait"),
        Set({"wait_apologized": True}),
        RecordEvent(LONG_WAIT, ms(waited)),
    ]
    if c.agent_id is not None:
        timing = events.Timing(c.chat_id, iso(c.waiting_since), seconds(waited))
        effects.append(Send("agent", timing))
    return effects


def hold_due(c: Conversation, now: datetime) -> list[Effect]:
    if c.status == CLOSED or c.held_since is None or c.hold_expired:
        return []
    # S-max-wait, hold included: the customer gets the apology, the agent a reminder.
    held = now - c.held_since
    effects: list[Effect] = [Say("long_wait"), Set({"hold_expired": True})]
    if c.waiting_since is not None:
        effects.append(Set({"wait_apologized": True}))
    effects.append(RecordEvent(HOLD_EXPIRED, ms(held)))
    if c.agent_id is not None:
        reminder = events.Reminder(c.chat_id, HOLD_EXPIRED, iso(c.held_since), seconds(held))
        effects.append(Send("agent", reminder))
    return effects


def accept_due(
    c: Conversation, agent_id: int | None, agent_online: bool, now: datetime, limits: Limits
) -> list[Effect]:
    """The silent-agent timer of ``agent_id``'s assignment ran out."""
    if c.status == CLOSED or c.agent_id != agent_id or agent_id is None or c.agent_answered:
        return []
    if c.closes_at is not None:
        return []
    # Silent since the later of the assignment and the customer's unanswered message.
    since = max(c.assigned_at or now, c.waiting_since or now)
    effects: list[Effect] = [
        RecordEvent(ACCEPT_TIMEOUT, ms(now - since)),
        Send("agent", events.Unassigned(c.chat_id, ACCEPT_TIMEOUT)),
    ]
    # An agent who does not answer is likely away from the desk: no new chats until they say
    # they are back (as call centres do on "redirect on no answer").
    if agent_online:
        effects.append(SetAgentAway(agent_id))
    effects += unassigned(c, now, limits)
    effects += [Say("reassigned", notify_agent=False), Set({"priority": 1}), Requeue()]
    return effects


def _customer_to_speak(c: Conversation) -> bool:
    """Whether the customer is still the one expected to speak (the idle timer holds)."""
    return (
        c.status == ASSIGNED
        and c.waiting_since is None
        and c.held_since is None
        and c.closes_at is None
    )


def idle_prompt_due(c: Conversation, now: datetime, limits: Limits) -> list[Effect]:
    if not _customer_to_speak(c):
        return []
    return [Say("no_response"), _run(c, IDLE_CLOSE, _after(now, limits.idle_close_s))]


def idle_close_due(c: Conversation) -> list[Effect]:
    return [Close("idle", "closing")] if _customer_to_speak(c) else []


def grace_due(c: Conversation) -> list[Effect]:
    if c.status == CLOSED or c.closes_at is None:
        return []
    return [Close("agent", "closing")]


# -- where the chat is in its life ------------------------------------------------------------


def joined_line(now: datetime) -> list[Effect]:
    """The customer's first message (route on message): in line for an agent from now."""
    return [Set({"queued_at": now, "queued_since": now, "queue_position": None})]


def requeued(c: Conversation, now: datetime) -> list[Effect]:
    """New, or back in the queue: no agent; its place in line is kept from when it first joined
    (FIFO by ``queued_at``), and its queue time counts again from now."""
    fields: dict[str, Any] = {
        "status": QUEUED,
        "agent_id": None,
        "queue_position": None,
        "queued_since": now,
    }
    if c.queued_at is None:
        fields["queued_at"] = now
    return [Set(fields)]


def assign_to(agent_id: int, now: datetime) -> list[Effect]:
    """Routing or a transfer hands the chat to ``agent_id`` (``assigned`` starts its timers)."""
    return [
        Set(
            {
                "status": ASSIGNED,
                "agent_id": agent_id,
                "assigned_at": now,
                "queue_position": None,
                "handoff_from_id": None,
            }
        )
    ]


def returned_to_queue() -> list[Effect]:
    """Taken from an agent (gone, silent, or handed to a group): to the front of the line."""
    return [Set({"priority": 1})]


def moved_to_group(group_id: int, from_agent_id: int, taken: bool) -> list[Effect]:
    """S-no-blind-transfer: a transfer to a group. Nobody free to take it now: it waits at the
    front of the group's line, never routed back to the agent who handed it off."""
    effects: list[Effect] = [Set({"group_id": group_id})]
    if not taken:
        effects.append(Set({"priority": 1, "handoff_from_id": from_agent_id}))
    return effects


def closed(c: Conversation, by: str, now: datetime) -> list[Effect]:
    """The chat ends (``by``: customer, agent, idle, abuse, system): every timer stops."""
    fields = {"status": CLOSED, "closed_at": now, "closed_by": by, "queue_position": None}
    return [Set(fields), *ended(c)]


# -- read receipts ----------------------------------------------------------------------------

READ_SEQ = {"customer": "customer_read_seq", "agent": "agent_read_seq"}


def read_to(by: Literal["customer", "agent"], read_seq: int, seq: int) -> list[Effect]:
    """A side has read up to ``seq`` (stored: ``read_seq``): a read only rises, so a late or
    repeated one changes nothing (service/chats/receipts.py tells the other side)."""
    return [Set({READ_SEQ[by]: seq})] if seq > read_seq else []


# -- S-abuse ----------------------------------------------------------------------------------


def abuse_warned(c: Conversation, now: datetime) -> list[Effect]:
    """The warning went out (the agent's quick reply or the automatic one): noted once."""
    return [] if c.abuse_warned_at is not None else [Set({"abuse_warned_at": now})]


def customer_abusive(c: Conversation, now: datetime) -> list[Effect]:
    """S-abuse: abuse is warned once; abuse after the warning ends the chat, the customer
    flagged for supervisors."""
    if c.abuse_warned_at is None:
        return [*abuse_warned(c, now), Say("abuse_warning")]
    return cut_off(c)


def cut_off(c: Conversation) -> list[Effect]:
    """S-abuse, S-customer-ends: only an abusive customer may be cut off, after a warning."""
    if c.abuse_warned_at is None:
        raise Refused(
            "S-abuse: warn the customer first (quick reply abuse_warning), then end the chat"
        )
    return [Flag("abuse"), Close("abuse", None)]

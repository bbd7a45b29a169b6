"""Frames out, typed as frames in are (``service/realtime/protocol.py``): contract v1's server
frames, one frozen dataclass per shape; docs/protocol.md shows each with an example.

A service says what happened with one of these (``work.send(to, Closed(chat_id, by))``); the
unit of work turns it into the JSON object once it has committed (``frame()``): ``type`` first,
then the fields in order. A field whose default is ``None`` is optional: left out while it is
None. A required field is always there, even when null (``waiting_since`` of a chat nobody waits
in). ``AUDIENCES`` says which sockets get the frame; tests/unit/test_protocol_docs.py checks the
docs' examples against these classes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

CUSTOMER, AGENT = "customer", "agent"
BOTH = (CUSTOMER, AGENT)


class Event:
    """A frame out. Subclasses are frozen dataclasses with a ``type``."""

    type: ClassVar[str]
    audiences: ClassVar[tuple[str, ...]] = BOTH

    def frame(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type}
        for name, optional in layout(type(self)):
            value = getattr(self, name)
            if value is None and optional:
                continue
            out[name] = value
        return out


def layout(cls: type[Event]) -> tuple[tuple[str, bool], ...]:
    """Each field of a frame class and whether it is optional (its default is None)."""
    found = _LAYOUTS.get(cls)
    if found is None:
        found = _LAYOUTS[cls] = tuple(
            (field.name, field.default is None)
            for field in fields(cls)  # type: ignore[arg-type]
        )
    return found


_LAYOUTS: dict[type[Event], tuple[tuple[str, bool], ...]] = {}


def required_keys(cls: type[Event]) -> frozenset[str]:
    return frozenset({"type", *(name for name, optional in layout(cls) if not optional)})


def optional_keys(cls: type[Event]) -> frozenset[str]:
    return frozenset(name for name, optional in layout(cls) if optional)


# -- the chat ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerReady(Event):
    """The customer's chat, (re)joined: where it stands (``position`` while queued)."""

    type: ClassVar[str] = "ready"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)
    chat_id: int
    resume_token: str
    seq: int
    status: str
    read: dict[str, int]
    position: int | None = None
    agent: dict[str, Any] | None = None
    # route_on=message: False until the customer's first message puts the chat in line.
    in_line: bool | None = None
    # Surge mode: the open incidents' public text, for the widget's banner (while any is open).
    incidents: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class AgentReady(Event):
    type: ClassVar[str] = "ready"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    agent: dict[str, Any]
    chats: list[dict[str, Any]]
    templates: list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class MessageOut(Event):
    """A message of the chat's log (``service/chats/frames.py::message_frame`` fills it)."""

    type: ClassVar[str] = "message"
    chat_id: int
    seq: int
    id: int
    sender: str
    text: str
    at: str
    client_id: str | None = None
    template: str | None = None
    agent: dict[str, Any] | None = None
    internal: bool | None = None  # only ever True: agent-only lines (S-privacy)
    kind: str | None = None
    corrects: int | None = None
    attachments: list[dict[str, Any]] | None = None


@dataclass(frozen=True, slots=True)
class CustomerAck(Event):
    type: ClassVar[str] = "ack"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)
    client_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class AgentAck(Event):
    type: ClassVar[str] = "ack"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    client_id: str
    seq: int


@dataclass(frozen=True, slots=True)
class Queue(Event):
    """S-queue-position: the customer's place in line changed."""

    type: ClassVar[str] = "queue"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)
    position: int


@dataclass(frozen=True, slots=True)
class CustomerAssigned(Event):
    type: ClassVar[str] = "assigned"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)
    chat_id: int
    agent: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AgentAssigned(Event):
    """A chat for the agent: its summary (``chat_summary``) and its history so far."""

    type: ClassVar[str] = "assigned"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    summary: dict[str, Any]
    history: list[dict[str, Any]]

    def frame(self) -> dict[str, Any]:
        return {"type": self.type, **self.summary, "history": self.history}


@dataclass(frozen=True, slots=True)
class Unassigned(Event):
    """The chat left this agent (``reason``: offline, gone, accept_timeout, shift_end, …)."""

    type: ClassVar[str] = "unassigned"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class Transferred(Event):
    type: ClassVar[str] = "transferred"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    to: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CustomerTyping(Event):
    type: ClassVar[str] = "typing"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)


@dataclass(frozen=True, slots=True)
class AgentTyping(Event):
    type: ClassVar[str] = "typing"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int


@dataclass(frozen=True, slots=True)
class Read(Event):
    """Read receipts: ``by`` has seen the chat up to ``seq``."""

    type: ClassVar[str] = "read"
    chat_id: int
    by: str
    seq: int


@dataclass(frozen=True, slots=True)
class Closing(Event):
    """S-customer-ends: the agent closed; the chat closes at ``closes_at`` unless answered."""

    type: ClassVar[str] = "closing"
    chat_id: int
    closes_at: str


@dataclass(frozen=True, slots=True)
class Reopened(Event):
    type: ClassVar[str] = "reopened"
    chat_id: int


@dataclass(frozen=True, slots=True)
class Closed(Event):
    type: ClassVar[str] = "closed"
    chat_id: int
    by: str


# -- the agent's desk ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Status(Event):
    type: ClassVar[str] = "status"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    status: str


@dataclass(frozen=True, slots=True)
class SignedOut(Event):
    type: ClassVar[str] = "signed_out"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    reason: str


@dataclass(frozen=True, slots=True)
class Timing(Event):
    """S-long-wait: the customer has waited ``waited_s`` since ``waiting_since``."""

    type: ClassVar[str] = "timing"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    waiting_since: str
    waited_s: float


@dataclass(frozen=True, slots=True)
class Reminder(Event):
    """S-hold-back: a hold ran out."""

    type: ClassVar[str] = "reminder"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    reason: str
    held_since: str
    held_s: float


@dataclass(frozen=True, slots=True)
class Suggest(Event):
    """A standard reply the customer's words call for (slow-reply, stability, …)."""

    type: ClassVar[str] = "suggest"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    chat_id: int
    seq: int
    key: str
    standard: str
    text: str


@dataclass(frozen=True, slots=True)
class DeskUnattended(Event):
    """S-no-unattended: service hours and nobody serving (supervisors on watch)."""

    type: ClassVar[str] = "alert"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    at: str
    queued: int
    kind: str = "desk_unattended"


@dataclass(frozen=True, slots=True)
class CallbackOverdue(Event):
    """S-callback-24h: a left message is due and nobody called back."""

    type: ClassVar[str] = "alert"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    callback_id: int
    chat_id: int
    due_at: str
    kind: str = "callback_overdue"


@dataclass(frozen=True, slots=True)
class IncidentDeclared(Event):
    """Surge mode: an incident declared, by a supervisor or by kefu (``by: "kefu"``)."""

    type: ClassVar[str] = "alert"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    incident_id: int
    title: str
    by: str
    batch_id: int | None  # null: declared from scratch
    kind: str = "incident_declared"


@dataclass(frozen=True, slots=True)
class ComplaintEvent(Event):
    """A complaint recorded, changed, drafted, … (``complaint``: its card)."""

    type: ClassVar[str] = "complaint"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    event: str
    complaint: dict[str, Any]


@dataclass(frozen=True, slots=True)
class BatchFormed(Event):
    """S-classes batch: complaints on one topic from many customers at once."""

    type: ClassVar[str] = "complaint"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    batch: dict[str, Any]
    event: str = "batch"


@dataclass(frozen=True, slots=True)
class PromiseEvent(Event):
    type: ClassVar[str] = "promise"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    event: str
    promise: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Promises(Event):
    """The answer to ``promises``: a page of the agent's promises."""

    type: ClassVar[str] = "promises"
    audiences: ClassVar[tuple[str, ...]] = (AGENT,)
    items: list[dict[str, Any]]
    total: int


@dataclass(frozen=True, slots=True)
class Rated(Event):
    type: ClassVar[str] = "rated"
    audiences: ClassVar[tuple[str, ...]] = (CUSTOMER,)
    chat_id: int
    score: int
    band: str


# -- errors --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Error(Event):
    """A typed error (service/errors.py's codes); ``ref`` names the frame it answers.

    The extra fields of some codes: ``phrase`` and ``suggestion`` (``refused``: the guard's hit
    and the standard wording), ``reason`` (``unavailable``), ``retry_after`` (``rate_limited``).
    """

    type: ClassVar[str] = "error"
    code: str
    message: str
    ref: str | None = None
    phrase: str | None = None
    suggestion: str | None = None
    reason: str | None = None
    retry_after: float | None = None


# Every frame class, for the docs' checks (and anyone who wants to list the contract).
FRAMES: tuple[type[Event], ...] = tuple(
    cls for cls in list(globals().values()) if isinstance(cls, type) and issubclass(cls, Event)
    if cls is not Event
)

"""Contract v1: the frames clients send, as typed commands, and the parser that guards them.

Outgoing frames are plain dicts built by the chat service; docs/protocol.md shows each one.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from service.errors import BadFrame, BadJson, FrameTooLarge, UnknownType
from service.realtime.events import Error
from service.realtime.inspect import INT64_MAX, check_depth, check_value, refuse_constant
from service.security import MAX_TS

# PostgreSQL stores no NUL character: refuse it as bad input rather than fail at the insert.
# (Parser.command refuses it in every field first; the pattern keeps the models honest alone.)
NoNul = r"^[^\x00]*$"
ClientId = Annotated[str, Field(min_length=1, max_length=64, pattern=NoNul)]
# Ids and seqs are BIGINT: a larger number is refused here rather than overflowing in the database.
MAX_ID = INT64_MAX
RowId = Annotated[int, Field(gt=0, le=MAX_ID)]
ChatId = RowId
Seq = Annotated[int, Field(ge=0, le=MAX_ID)]
Text = Annotated[str, Field(min_length=1, pattern=NoNul)]
# Unix seconds up to the year 9999, so datetime and float arithmetic never overflow.
UnixTime = Annotated[int, Field(ge=0, le=MAX_TS)]
GroupName = Annotated[str, Field(min_length=1, max_length=32)]
# A message's text may be empty only when it carries attachments (a screenshot on its own).
MessageText = Annotated[str, Field(pattern=NoNul)]
MAX_ATTACHMENTS = 10
Attachments = Annotated[list[RowId], Field(min_length=1, max_length=MAX_ATTACHMENTS)]
ReadSeq = Annotated[int, Field(gt=0, le=MAX_ID)]


class Frame(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Says(Frame):
    """A message frame: a text, attachments (ids of this sender's uploads), or both."""

    text: MessageText = ""
    attachments: Attachments | None = None

    @model_validator(mode="after")
    def _says_something(self) -> Says:
        if not self.text and not self.attachments:
            raise ValueError("give a text of at least 1 character, or attachments")
        if self.attachments is not None and len(set(self.attachments)) != len(self.attachments):
            raise ValueError("an attachment is named twice")
        return self

    @property
    def attachment_ids(self) -> tuple[int, ...]:
        return tuple(self.attachments or ())


# The signed payload joins fields with newlines, so no field may contain one.
OneLine = r"^[^\n]*$"


class PlayerClaim(Frame):
    id: Annotated[str, Field(min_length=1, max_length=128, pattern=OneLine)]
    name: Annotated[str, Field(max_length=100, pattern=OneLine)] | None = None
    tier: Annotated[str, Field(max_length=32, pattern=OneLine)] | None = None
    ts: UnixTime
    sig: Annotated[str, Field(min_length=1, max_length=128)]


class Resume(Frame):
    token: Annotated[str, Field(min_length=1, max_length=128)]
    last_seq: Seq = 0


# -- customer socket ---------------------------------------------------------------------------


class CustomerHello(Frame):
    type: Literal["hello"]
    player: PlayerClaim | None = None
    resume: Resume | None = None
    locale: Annotated[str, Field(max_length=16)] | None = None
    # The department the widget asks for ("billing"); only its agents take the chat.
    group: GroupName | None = None
    # The id the widget keeps for its browser (S-classes batch: a guest's tabs are one person).
    device: ClientId | None = None


class CustomerMessage(Says):
    type: Literal["message"]
    client_id: ClientId


class CustomerRead(Frame):
    """The customer has seen the chat up to ``seq`` (read receipts)."""

    type: Literal["read"]
    seq: ReadSeq
    # The customer socket has one chat; given, it must be that one.
    chat_id: ChatId | None = None


class CustomerTyping(Frame):
    type: Literal["typing"]


class CustomerClose(Frame):
    type: Literal["close"]


class Rate(Frame):
    type: Literal["rate"]
    score: Annotated[int, Field(ge=0, le=10)]
    comment: Annotated[str, Field(max_length=2000)] | None = None


class Complain(Frame):
    type: Literal["complain"]
    topic: Annotated[str, Field(min_length=1, max_length=64)]
    text: Text


class LeaveMessage(Frame):
    type: Literal["leave_message"]
    contact: Annotated[str, Field(min_length=1, max_length=200)]
    text: Text


CustomerCommand = Annotated[
    CustomerMessage
    | CustomerRead
    | CustomerTyping
    | CustomerClose
    | Rate
    | Complain
    | LeaveMessage,
    Field(discriminator="type"),
]

# -- agent socket ------------------------------------------------------------------------------


class AgentHello(Frame):
    type: Literal["hello"]
    token: Annotated[str, Field(min_length=1, max_length=128)]
    status: Literal["online", "away", "offline"] | None = None
    # chat_id -> last seq the console holds; those chats are resumed instead of resent whole.
    resume: dict[ChatId, Seq] | None = None


class Status(Frame):
    type: Literal["status"]
    status: Literal["online", "away", "offline"]


class AgentMessage(Says):
    type: Literal["message"]
    chat_id: ChatId
    client_id: ClientId
    # After a hold (S-hold-back): send "很抱歉让您久等了!" first. Absent: only if the hold expired.
    hold_back: bool | None = None


class AgentRead(Frame):
    """The agent has seen the chat up to ``seq`` (read receipts)."""

    type: Literal["read"]
    chat_id: ChatId
    seq: ReadSeq


class AgentTyping(Frame):
    type: Literal["typing"]
    chat_id: ChatId


class AgentClose(Frame):
    type: Literal["close"]
    chat_id: ChatId
    # S-abuse: end the chat of an abusive customer (after the warning), no closing template.
    reason: Literal["abuse"] | None = None


class UseTemplate(Frame):
    type: Literal["template"]
    chat_id: ChatId
    key: Annotated[str, Field(min_length=1, max_length=32)]
    vars: dict[str, Annotated[str, Field(max_length=200)]] | None = None
    client_id: ClientId | None = None


class Note(Frame):
    type: Literal["note"]
    chat_id: ChatId
    text: Text
    client_id: ClientId | None = None


class Correct(Frame):
    type: Literal["correct"]
    chat_id: ChatId
    seq: Annotated[int, Field(gt=0, le=MAX_ID)]
    text: Text
    client_id: ClientId | None = None


class Hold(Frame):
    type: Literal["hold"]
    chat_id: ChatId


class Transfer(Frame):
    type: Literal["transfer"]
    chat_id: ChatId
    to_agent: RowId | None = None
    to_group: GroupName | None = None
    note: Text  # S-no-blind-transfer: the handoff note is required

    @model_validator(mode="after")
    def _one_target(self) -> Transfer:
        if (self.to_agent is None) == (self.to_group is None):
            raise ValueError("give exactly one of to_agent and to_group")
        return self


class ComplaintFrame(Frame):
    type: Literal["complaint"]
    chat_id: ChatId
    topic: Annotated[str, Field(min_length=1, max_length=64)]
    summary: Text
    facts: dict[str, Any] | None = None


class DismissComplaint(Frame):
    type: Literal["dismiss_complaint"]
    complaint_id: RowId
    comment: Annotated[str, Field(min_length=1, max_length=2000)] | None = None


class MakePromise(Frame):
    """S-callback: a promised time, structured; sends the quick reply and opens the task."""

    type: Literal["promise"]
    chat_id: ChatId
    kind: Literal["callback", "follow_up"]
    # With a timezone (…Z or …+08:00); refused in the past and beyond KEFU_PROMISE_WITHIN_H.
    due_at: datetime
    # A follow-up answers this complaint of the chat (default: its latest unfinished one).
    complaint_id: RowId | None = None
    client_id: ClientId | None = None


class KeepPromise(Frame):
    type: Literal["promise_done"]
    promise_id: RowId
    outcome: Annotated[str, Field(min_length=1, max_length=2000, pattern=NoNul)] | None = None


class ListPromises(Frame):
    """The agent's open promises, answered with one ``promises`` frame."""

    type: Literal["promises"]


AgentCommand = Annotated[
    AgentMessage
    | AgentRead
    | Status
    | AgentTyping
    | AgentClose
    | UseTemplate
    | Note
    | Correct
    | Hold
    | Transfer
    | ComplaintFrame
    | DismissComplaint
    | MakePromise
    | KeepPromise
    | ListPromises,
    Field(discriminator="type"),
]


T = TypeVar("T")


class Parser(Generic[T]):
    """Turns one raw text frame into a typed command, or raises a typed BadFrame."""

    def __init__(self, adapter: TypeAdapter[T], types: frozenset[str], max_bytes: int) -> None:
        self._adapter = adapter
        self._types = types
        self._max_bytes = max_bytes

    def decode(self, raw: str | bytes) -> dict[str, Any]:
        """The frame as a JSON object, its nesting bounded and its numbers finite."""
        # Characters are at most 4 UTF-8 bytes: encode only when the count could be over.
        if len(raw) * 4 > self._max_bytes and len(_utf8(raw)) > self._max_bytes:
            raise FrameTooLarge(f"frame over {self._max_bytes} bytes")
        try:
            text = raw if isinstance(raw, str) else raw.decode()
        except UnicodeDecodeError as exc:
            raise BadJson("frame is not valid UTF-8") from exc
        check_depth(text)
        try:
            data = json.loads(text, parse_constant=refuse_constant)
        except ValueError as exc:  # also a number over int_max_str_digits
            raise BadJson("frame is not valid JSON") from exc
        if not isinstance(data, dict):
            raise BadFrame("frame must be a JSON object")
        kind = data.get("type")
        if not isinstance(kind, str):
            raise BadFrame("frame has no string 'type'")
        return data

    def command(self, data: dict[str, Any]) -> T:
        """Every value checked once (no NUL, surrogate, non-finite or over-64-bit number
        anywhere), then the typed command for the frame's type."""
        check_value(data)
        if data["type"] not in self._types:
            raise UnknownType(f"unknown frame type {data['type'][:40]!r}")
        try:
            return self._adapter.validate_python(data)
        except ValidationError as exc:
            raise BadFrame(describe(exc)) from exc


def _utf8(raw: str | bytes) -> bytes:
    return raw.encode() if isinstance(raw, str) else raw


def describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False)[0]
    # A loc may hold a client's dict key: each part is cut, so the message stays short.
    where = ".".join(str(part)[:32] for part in first["loc"][1:]) or "frame"
    return f"{where}: {first['msg']}"


def _types(*models: type[Frame]) -> frozenset[str]:
    return frozenset(model.model_fields["type"].annotation.__args__[0] for model in models)  # type: ignore[union-attr]


CUSTOMER_TYPES = _types(
    CustomerMessage, CustomerRead, CustomerTyping, CustomerClose, Rate, Complain, LeaveMessage
)
AGENT_TYPES = _types(
    AgentMessage,
    AgentRead,
    Status,
    AgentTyping,
    AgentClose,
    UseTemplate,
    Note,
    Correct,
    Hold,
    Transfer,
    ComplaintFrame,
    DismissComplaint,
    MakePromise,
    KeepPromise,
    ListPromises,
)

customer_commands: TypeAdapter[CustomerCommand] = TypeAdapter(CustomerCommand)
agent_commands: TypeAdapter[AgentCommand] = TypeAdapter(AgentCommand)
customer_hello: TypeAdapter[CustomerHello] = TypeAdapter(CustomerHello)
agent_hello: TypeAdapter[AgentHello] = TypeAdapter(AgentHello)


def error_frame(code: str, message: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    """The ``error`` frame (``extra``: the fields some codes add, typed in ``events.Error``)."""
    return Error(code, message, ref, **extra).frame()


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))

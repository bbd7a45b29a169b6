"""The ORM models: agents, groups, customers, chats, messages, attachments, timers, reply
timing, admin tokens, the audit log, used player signatures, template overrides, taboo-phrase
hits, callbacks and signing keys."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from service.db.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BigInteger ids that are still INTEGER PRIMARY KEY (rowid) on SQLite.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


class AgentStatus(enum.StrEnum):
    online = "online"
    away = "away"
    offline = "offline"


class AgentRole(enum.StrEnum):
    agent = "agent"
    supervisor = "supervisor"


class ChatStatus(enum.StrEnum):
    queued = "queued"
    assigned = "assigned"
    closed = "closed"


class Sender(enum.StrEnum):
    customer = "customer"
    agent = "agent"
    system = "system"


class Agent(Base):
    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    employee_no: Mapped[str] = mapped_column(String(32), unique=True)
    role: Mapped[str] = mapped_column(String(16), default=AgentRole.agent)
    capacity: Mapped[int] = mapped_column(Integer, default=5)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=AgentStatus.offline)
    # Open sockets across all processes; 0 means the agent is gone (grace timer armed).
    connections: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_assigned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Group(Base):
    """A department ("billing"): its agents take the chats asked for or transferred to it."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class AgentGroup(Base):
    __tablename__ = "agent_groups"

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id"), primary_key=True, index=True)


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    player_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    name: Mapped[str | None] = mapped_column(String(100))
    tier: Mapped[str | None] = mapped_column(String(32))
    # Set by the desk (S-classes: sensitive customer); their complaints are urgent.
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Set when the desk flags the customer (S-abuse: "abuse"); cleared by an admin.
    flagged_at: Mapped[datetime | None]
    flag_reason: Mapped[str | None] = mapped_column(String(32))
    # A guest's widget device id and a digest of their address (S-classes batch: counted as
    # one person, service/complaints/people.py); players are known by their signed id.
    device: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]


class Chat(Base):
    __tablename__ = "chats"
    __table_args__ = (
        Index("ix_chats_status_queue", "status", "priority", "queued_at"),
        Index("ix_chats_agent_status", "agent_id", "status"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    status: Mapped[str] = mapped_column(String(16), default=ChatStatus.queued)
    locale: Mapped[str] = mapped_column(String(16))
    # Returned chats (their agent left) go to the front of the queue: higher priority first.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None]
    queue_position: Mapped[int | None] = mapped_column(Integer)
    assigned_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(16))
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    resume_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_sockets: Mapped[int] = mapped_column(Integer, default=0)
    # Only agents of this group take the chat (asked for at hello, or a group transfer).
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id"))
    # The agent who handed the chat off; routing does not give it back to them from the queue.
    handoff_from_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    # S-abuse: warned once; abuse after this ends the chat.
    abuse_warned_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    # Reply timing (service/chats/timing.py). Queue time is stored, not recomputed.
    queued_since: Mapped[datetime | None]  # start of the current stint in the queue
    queue_ms: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_customer_at: Mapped[datetime | None]
    first_response_ms: Mapped[int | None] = mapped_column(Integer)
    # The earliest customer message no agent has answered yet; null when nothing waits.
    waiting_since: Mapped[datetime | None]
    wait_apologized: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # The assigned agent has written since the assignment (silent-agent timer stopped).
    agent_answered: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    held_since: Mapped[datetime | None]
    hold_expired: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Closing grace (S-customer-ends): the agent closed; the chat closes at this time.
    closes_at: Mapped[datetime | None]
    asked_anything_else: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
    # Read receipts: the highest seq each side has read (service/chats/receipts.py). Only rise.
    customer_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    agent_read_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


def in_line() -> ColumnElement[bool]:
    """The chats waiting in line for an agent: queued, and (route_on=message) having written."""
    return and_(Chat.status == ChatStatus.queued, Chat.queued_at.is_not(None))


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("chat_id", "seq", name="uq_messages_chat_seq"),
        UniqueConstraint("chat_id", "client_key", name="uq_messages_chat_client"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    seq: Mapped[int] = mapped_column(BigInteger)
    sender: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    # Who sent it plus their client_id ("customer:m1", "agent:7:m1"): resends are found by it.
    client_key: Mapped[str | None] = mapped_column(String(100))
    text: Mapped[str] = mapped_column(Text)
    template: Mapped[str | None] = mapped_column(String(32))
    # Agent-only lines (internal notes) never reach a customer socket (S-privacy).
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    # "note" (an internal note) or "handoff" (a transfer's handoff note); None for the rest.
    kind: Mapped[str | None] = mapped_column(String(16))
    # S-correction: the seq of the message this one corrects; both stay in the transcript.
    corrects: Mapped[int | None] = mapped_column(BigInteger)
    # The files it carries, as shown in its frame ([{id, content_type, name, size, …}]): copied
    # from their rows when it is stored, so no replay reads the attachments table.
    attachments: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Timer(Base):
    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "due_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # One pending timer per key ("agent_gone:7"); arming again replaces it.
    key: Mapped[str] = mapped_column(String(128), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class Process(Base):
    """A running kefu process, alive while its heartbeat (``seen_at``) is fresh."""

    __tablename__ = "processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class ProcessSockets(Base):
    """How many sockets of one agent ("agent", agent id) or of one chat's customer
    ("customer", chat id) a process holds: its share of the counts, taken back if it dies."""

    __tablename__ = "process_sockets"

    process_id: Mapped[str] = mapped_column(
        ForeignKey("processes.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    ref_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    sockets: Mapped[int] = mapped_column(Integer, default=0)


class Reply(Base):
    """An agent message that answered waiting customer messages, with the wait it ended."""

    __tablename__ = "replies"
    __table_args__ = (
        Index("ix_replies_at", "at"),
        Index("ix_replies_agent_at", "agent_id", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    at: Mapped[datetime]
    # From the earliest unanswered customer message to this reply (S-no-silence).
    wait_ms: Mapped[int] = mapped_column(Integer)
    # Set on the chat's first reply: from the chat's first customer message (S-answer-fast).
    first_response_ms: Mapped[int | None] = mapped_column(Integer)


class TimingEvent(Base):
    """A timing rule that fired against a chat: an apology, a silent-agent reassignment."""

    __tablename__ = "timing_events"
    __table_args__ = (Index("ix_timing_events_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    # The agent holding the chat then (counted against them); null while it was queued.
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    waited_ms: Mapped[int | None] = mapped_column(Integer)


class AdminToken(Base):
    """A bearer token of the HTTP API for an admin or a supervisor (service/tokens)."""

    __tablename__ = "admin_tokens"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")
    # The first characters of the secret, shown in lists so a holder can tell theirs apart.
    prefix: Mapped[str] = mapped_column(String(16), default="", server_default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(100))
    rotated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(String(100))


class AuditEntry(Base):
    """One change made over the admin API or the CLI: who, when, what, before and after.

    Append-only: rows are inserted in the transaction of the change and never updated.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor_at", "actor", "at"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(100))
    actor_role: Mapped[str] = mapped_column(String(16))
    # The token or agent account the change came through (null for KEFU_ADMIN_TOKEN, the CLI).
    actor_token_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_agent_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(128))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class UsedSignature(Base):
    """A player signature that opened a chat, kept until it expires: it opens no other."""

    __tablename__ = "used_signatures"
    __table_args__ = (Index("ix_used_signatures_expires_at", "expires_at"),)

    sig_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]


class TemplateOverride(Base):
    """A deployment's own wording of a template in one locale; the phrases file is the default."""

    __tablename__ = "template_overrides"
    __table_args__ = (UniqueConstraint("key", "locale", name="uq_template_overrides_key_locale"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    variants: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime]


class PhraseHit(Base):
    """An agent message that contained a taboo phrase (S-forbidden-phrases): refused or warned."""

    __tablename__ = "phrase_hits"
    __table_args__ = (Index("ix_phrase_hits_agent_at", "agent_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    # The stored message (warn mode); None when the message was refused (block mode).
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    phrase: Mapped[str] = mapped_column(String(200))
    locale: Mapped[str] = mapped_column(String(16))
    blocked: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]


class CallbackStatus(enum.StrEnum):
    open = "open"
    done = "done"


class Callback(Base):
    """A message left while nobody could answer; called back within 24 h (S-callback-24h)."""

    __tablename__ = "callbacks"
    __table_args__ = (Index("ix_callbacks_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # Sealed (service/privacy/contacts.py): a Fernet token, never the contact in clear.
    contact: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    locale: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=CallbackStatus.open)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)
    # Surge mode: the resolution of an incident the customer wrote about, to tell them.
    follow_up: Mapped[str | None] = mapped_column(Text)


class Attachment(Base):
    """An uploaded file of one chat; ``seq`` is the message that carries it (None until sent)."""

    __tablename__ = "attachments"
    __table_args__ = (Index("ix_attachments_chat_seq", "chat_id", "seq"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    uploader: Mapped[str] = mapped_column(String(16))  # "customer" or "agent"
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    # Where the storage keeps the bytes (service/attachments/storage.py); random, never a name.
    storage_key: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime]


class SigningKey(Base):
    """A secret the processes of one deployment share (the attachments' links are signed with
    "media"), made by the first process that needs it when no setting gives one."""

    __tablename__ = "signing_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]

"""The tables of the notification table (信息通知表): complaints, their reasons, history, batches,
and the satisfaction ratings.

They share ``service.db.models.Base``; ``migrations/env.py`` imports this module so that Alembic
sees them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, Id


class ComplaintBatch(Base):
    """S-classes batch: many customers on one topic within the window; one alert per batch."""

    __tablename__ = "complaint_batches"
    __table_args__ = (Index("ix_complaint_batches_topic_last", "topic", "last_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    topic: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    last_at: Mapped[datetime]
    customers: Mapped[int] = mapped_column(Integer)
    vip_customers: Mapped[int] = mapped_column(Integer)


class Complaint(Base):
    """One row of the notification table (S-record)."""

    __tablename__ = "complaints"
    __table_args__ = (
        Index("ix_complaints_topic_opened", "topic", "opened_at"),
        Index("ix_complaints_customer_topic", "customer_id", "topic"),
        Index("ix_complaints_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # The agent who took it (S-record: who took it); the owner works it (S-classes: urgent).
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    topic: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    facts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_batches.id"))
    # The chat's last seq when it was recorded: where the transcript excerpt is centred.
    message_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    opened_at: Mapped[datetime | None]
    answer_due_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    follow_up_due_at: Mapped[datetime | None]
    followed_up_at: Mapped[datetime | None]
    follow_up_result: Mapped[str | None] = mapped_column(String(16))
    closed_at: Mapped[datetime | None]
    # The deadline that is pending now (answer, then follow-up); null once nothing is due.
    due_at: Mapped[datetime | None]
    # The due_at an overdue alert went out for, so it goes out once per deadline.
    alerted_due_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]


class ComplaintReason(Base):
    """Why a complaint is urgent (S-classes); a complaint with any reason is urgent."""

    __tablename__ = "complaint_reasons"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), primary_key=True)
    reason: Mapped[str] = mapped_column(String(32), primary_key=True)
    set_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]


class ComplaintEvent(Base):
    """The append-only history of a complaint: who changed what, when, from what to what."""

    __tablename__ = "complaint_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    from_value: Mapped[str | None] = mapped_column(Text)
    to_value: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)


class Rating(Base):
    """A customer's satisfaction score for one chat (S-survey, S-satisfaction): once per chat."""

    __tablename__ = "ratings"
    __table_args__ = (Index("ix_ratings_agent_created", "agent_id", "created_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    score: Mapped[int] = mapped_column(Integer)
    band: Mapped[str] = mapped_column(String(16))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]

"""The promises table: what an agent promised a customer, by when, and who keeps it now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, Id


class Promise(Base):
    """A callback or a follow-up promised in a chat: a task owned by an agent (S-callback)."""

    __tablename__ = "promises"
    __table_args__ = (
        Index("ix_promises_state_due", "state", "due_at"),
        Index("ix_promises_agent_state", "agent_id", "state"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    # The complaint a follow-up promise answers (S-follow-up); null for a callback.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    # Who made it, and who owns it now (a shift handover passes it on).
    made_by_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    state: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime]
    # The message that told the customer the time.
    message_seq: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]
    reminded_at: Mapped[datetime | None]
    # Still open at due_at: the owner and the supervisors were told (S-callback-24h broken).
    escalated_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    done_by: Mapped[str | None] = mapped_column(String(100))
    outcome: Mapped[str | None] = mapped_column(Text)

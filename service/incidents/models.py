"""The incident tables: an outage declared, the chats linked to it, and one delivery per chat.

They share ``service.db.models.Base``; ``migrations/env.py`` imports this module so that
Alembic sees them.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, Id


class IncidentStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"


class Incident(Base):
    """An outage many customers write about: declared by a supervisor or by kefu itself."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_status", "status", "id"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    # Words of a customer's first message that link the chat (the one matcher of every list).
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    # The complaint topic whose matching complaints link to it (None: any topic).
    topic: Mapped[str | None] = mapped_column(String(64))
    # The public text: the widget's banner, and what the known-issue answer says.
    known_issue: Mapped[str] = mapped_column(Text)
    eta_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=IncidentStatus.open)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_batches.id"))
    declared_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))
    resolution: Mapped[str | None] = mapped_column(Text)


class IncidentLink(Base):
    """A chat linked to an incident: its first message matched, or its complaint did."""

    __tablename__ = "incident_links"
    __table_args__ = (Index("ix_incident_links_chat", "chat_id"),)

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    why: Mapped[str] = mapped_column(String(16))  # first_message, complaint
    linked_at: Mapped[datetime]


class IncidentDelivery(Base):
    """The resolution reached one linked chat: its key makes it once per chat, whoever races."""

    __tablename__ = "incident_deliveries"

    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"), primary_key=True)
    way: Mapped[str] = mapped_column(String(16))  # message (still in the chat), callback
    callback_id: Mapped[int | None] = mapped_column(ForeignKey("callbacks.id"))
    at: Mapped[datetime]

"""The owner_events table: every change of a chat's owner, with why (S-first-responder)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, Id


class OwnerEvent(Base):
    """A chat changed hands: from whom (None: from the queue) to whom (None: nobody), when,
    and why (``service/owners/rules.py`` names the reasons). Written in the unit that changed
    the chat's row, by service/chats/rows.py."""

    __tablename__ = "owner_events"
    __table_args__ = (
        Index("ix_owner_events_chat", "chat_id", "id"),
        Index("ix_owner_events_from_at", "from_agent_id", "at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("chats.id"))
    at: Mapped[datetime]
    from_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    to_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    why: Mapped[str] = mapped_column(String(32))

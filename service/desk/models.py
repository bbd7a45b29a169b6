"""The handovers table: every chat, complaint or promise passed on at a shift's end."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.db.models import Base, Id


class Handover(Base):
    """One passing (S-no-unattended, S-follow-up): from whom to whom, what, when and why."""

    __tablename__ = "handovers"
    __table_args__ = (Index("ix_handovers_at", "at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime]
    why: Mapped[str] = mapped_column(String(32))  # "shift_end"
    shift: Mapped[str | None] = mapped_column(String(32))
    from_agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    # Null when nobody could take it: a chat went back to the queue, or nobody was on duty.
    to_agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    what: Mapped[str] = mapped_column(String(16))  # "chat" | "complaint" | "promise"
    ref_id: Mapped[int] = mapped_column(BigInteger)
    note: Mapped[str] = mapped_column(Text)

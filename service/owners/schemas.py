"""What the transcript, the complaint and the drop report show of the chain of owners."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OwnerSpan(BaseModel):
    agent_id: int
    # Who that is, as the pages show it (the console cannot list agents; None: no such row).
    name: str | None = None
    employee_no: str | None = None
    took_at: datetime
    took_how: str = Field(description="routed, transfer, shift_end (a complaint: the actor)")
    left_at: datetime | None = Field(description="None: the owner now")
    left_how: str | None = Field(
        description="transfer, shift_end, closed, or a drop: accept_timeout, offline, gone, ..."
    )


class AgentDrops(BaseModel):
    agent_id: int
    name: str
    employee_no: str
    dropped: int = Field(description="chats taken from the agent unanswered for, all reasons")
    reasons: dict[str, int] = Field(description="accept_timeout, offline, gone, ...: how many")


class DropReport(BaseModel):
    since: datetime | None
    until: datetime | None
    items: list[AgentDrops] = Field(description="agents with the most drops first")

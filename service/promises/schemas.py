"""Shapes of promises: the admin API's, and the ``promise`` frames the console gets."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class PromiseOut(BaseModel):
    id: int
    kind: Literal["callback", "follow_up"]
    chat_id: int
    complaint_id: int | None
    customer: dict[str, Any]
    agent: dict[str, Any] = Field(description="the owner now: id, name, employee_no")
    made_by_id: int
    state: Literal["open", "done"]
    due_at: datetime
    overdue: bool = Field(description="still open at due_at (S-callback-24h broken)")
    message_seq: int
    created_at: datetime
    reminded_at: datetime | None
    escalated_at: datetime | None
    done_at: datetime | None
    done_by: str | None
    outcome: str | None


class PromisePage(BaseModel):
    items: list[PromiseOut]
    total: int


class PromiseDone(BaseModel):
    """Mark a promise kept: the customer was called back, or got the answer."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["done"]
    outcome: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

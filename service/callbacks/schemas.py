"""Admin API shapes for callbacks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class CallbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    chat_id: int
    customer: dict[str, Any]
    contact: str
    text: str
    locale: str
    status: str
    due_at: datetime
    overdue: bool = Field(description="still open after due_at (S-callback-24h broken)")
    created_at: datetime
    done_at: datetime | None
    done_by: str | None
    outcome: str | None
    follow_up: str | None = Field(
        description="an incident the customer wrote about was resolved: what to tell them"
    )


class CallbackPage(BaseModel):
    items: list[CallbackOut]
    total: int


class CallbackDone(BaseModel):
    """Close a callback once the customer has been called back."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["done"]
    outcome: Annotated[str, Field(min_length=1, max_length=2000)] | None = None

"""Admin API shapes for agents."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["agent", "supervisor"]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)]
    employee_no: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
    capacity: Annotated[int, Field(ge=1, le=100)] | None = None
    role: Role = "agent"


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    capacity: Annotated[int, Field(ge=1, le=100)] | None = None
    role: Role | None = None
    active: bool | None = None


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    employee_no: str
    role: str
    capacity: int
    status: str
    connections: int
    active: bool
    open_chats: int = 0
    created_at: datetime


class AgentCreated(AgentOut):
    token: str = Field(description="Shown once; only its hash is stored.")

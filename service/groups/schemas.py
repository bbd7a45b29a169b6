"""Admin API shapes for groups."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Name = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_-]+$")]
Title = Annotated[str, Field(min_length=1, max_length=100)]


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name = Field(description="what frames use: hello `group`, transfer `to_group`")
    title: Title | None = Field(default=None, description="for people; default: the name")


class GroupUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title


class GroupOut(BaseModel):
    name: str
    title: str
    agents: list[int] = Field(description="ids of the member agents")
    online: int = Field(description="members online and connected now")
    queued: int = Field(description="chats waiting for this group")
    created_at: datetime

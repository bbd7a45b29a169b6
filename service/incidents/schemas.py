"""Admin API shapes for incidents (surge mode)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from service.realtime.protocol import RowId
from service.templates.matching import fold

Title = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]
Keyword = Annotated[str, Field(min_length=1, max_length=64)]
Keywords = Annotated[list[Keyword], Field(max_length=20)]


def _matchable(words: list[str] | None) -> list[str] | None:
    """A keyword is matched on its letters and digits, so it must have some."""
    if words is not None:
        for word in words:
            if not fold(word).chars:
                raise ValueError(f"keyword {word!r} has no letters or digits to match")
    return words


class IncidentIn(BaseModel):
    """Declare an incident: from a batch (``batch_id``) or from scratch."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    keywords: Keywords = Field(
        default_factory=list, description="words of a first message that link the chat"
    )
    topic: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="a complaint topic; its matching complaints link (any if null)"
    )
    known_issue: Text = Field(description="public text: the widget's banner")
    eta: AwareDatetime = Field(description="the promised time, said in the known-issue answer")
    batch_id: RowId | None = Field(default=None, description="the batch it is declared from")

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, words: list[str] | None) -> list[str] | None:
        return _matchable(words)


class IncidentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    keywords: Keywords | None = None
    known_issue: Text | None = None
    eta: AwareDatetime | None = None

    @field_validator("keywords")
    @classmethod
    def _keywords(cls, words: list[str] | None) -> list[str] | None:
        return _matchable(words)


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resolution: Text = Field(description="sent once to every linked customer still reachable")


class IncidentOut(BaseModel):
    id: int
    title: str
    keywords: list[str]
    topic: str | None
    known_issue: str
    eta: datetime
    status: str
    batch_id: int | None
    declared_by: str
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: str | None
    linked_chats: int = Field(description="chats linked: first message or complaint matched")
    delivered: int = Field(description="linked chats the resolution reached (message, callback)")


class IncidentPage(BaseModel):
    items: list[IncidentOut]
    total: int

"""Admin API shapes of the admin and supervisor tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

TokenRole = Literal["admin", "supervisor"]


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, Field(min_length=1, max_length=100, description="who holds it")]
    role: TokenRole = "supervisor"


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: str
    prefix: str = Field(description="the first characters of the secret; never the secret")
    created_at: datetime
    created_by: str | None
    rotated_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None


class TokenCreated(TokenOut):
    token: str = Field(description="Shown once; only its hash is stored.")

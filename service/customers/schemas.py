"""The customer as the admin API shows it: one shape for the list and for one customer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class CustomerCard(BaseModel):
    """A customer as a complaint row or a console shows them."""

    id: int
    player_id: str | None
    name: str | None
    tier: str | None
    guest: bool
    sensitive: bool


class CustomerOut(CustomerCard):
    vip: bool = Field(description="the tier is one of KEFU_COMPLAINT_VIP_TIERS")
    flagged: bool = Field(description="a chat of theirs ended for abuse (S-abuse), or set by hand")
    flagged_at: datetime | None
    flag_reason: str | None
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int


class CustomerUpdate(BaseModel):
    """``tier: null`` clears the tier. The next signed claim of the player sets it again."""

    model_config = ConfigDict(extra="forbid")

    tier: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    sensitive: bool | None = None
    # S-abuse: flag a customer by hand, or clear a flag the desk set.
    flagged: bool | None = None

"""/api/v1/customers: the customer list, e.g. those the desk has flagged (S-abuse).

One customer is read and changed (tier, sensitive, flagged) in service/complaints/endpoints.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from service.api.auth import RuntimeDep
from service.db.models import Customer
from service.realtime.protocol import MAX_ID

router = APIRouter(prefix="/customers", tags=["customers"])


class CustomerOut(BaseModel):
    id: int
    player_id: str | None
    name: str | None
    tier: str | None
    guest: bool
    flagged: bool
    flagged_at: datetime | None
    flag_reason: str | None
    created_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    total: int


def out(customer: Customer) -> CustomerOut:
    return CustomerOut(
        id=customer.id,
        player_id=customer.player_id,
        name=customer.name,
        tier=customer.tier,
        guest=customer.player_id is None,
        flagged=customer.flagged_at is not None,
        flagged_at=customer.flagged_at,
        flag_reason=customer.flag_reason,
        created_at=customer.created_at,
    )


@router.get("", response_model=CustomerPage)
async def list_customers(
    runtime: RuntimeDep,
    flagged: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> CustomerPage:
    query = select(Customer)
    if flagged is True:
        query = query.where(Customer.flagged_at.is_not(None))
    elif flagged is False:
        query = query.where(Customer.flagged_at.is_(None))
    async with runtime.units.read() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(query.order_by(Customer.id.desc()).limit(limit).offset(offset))
        return CustomerPage(items=[out(c) for c in rows], total=total or 0)

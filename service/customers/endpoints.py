"""/api/v1/customers: the customer list (e.g. those the desk flagged, S-abuse), one customer,
and the changes staff make (tier, sensitive, flag); every change in the audit log.

Thin: parse, call the service in a unit of work, answer with the customer as it now stands.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.complaints.endpoints import Actor
from service.customers.schemas import CustomerOut, CustomerPage, CustomerUpdate
from service.customers.service import CHANGEABLE, out
from service.db.models import Customer
from service.errors import NotFound
from service.realtime.protocol import MAX_ID, RowId

router = APIRouter(prefix="/customers", tags=["customers"])


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
        items = [out(customer, runtime.settings) for customer in rows]
    return CustomerPage(items=items, total=total or 0)


@router.get("/{customer_id}", response_model=CustomerOut)
async def get_customer(customer_id: RowId, runtime: RuntimeDep) -> CustomerOut:
    async with runtime.units.read() as session:
        customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return out(customer, runtime.settings)


@router.patch("/{customer_id}", response_model=CustomerOut)
async def update_customer(
    customer_id: RowId, data: CustomerUpdate, runtime: RuntimeDep, actor: Actor, caller: CallerDep
) -> CustomerOut:
    async with runtime.units() as work:
        before = audit.snapshot(await work.session.get(Customer, customer_id), CHANGEABLE)
        customer = await runtime.complaints.update_customer(work, customer_id, data, actor)
        after = audit.snapshot(customer, CHANGEABLE)
        await audit.record(
            work.session, caller, work.now, "customer.update", customer, before, after
        )
        return out(customer, runtime.settings)

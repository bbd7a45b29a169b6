"""/api/v1/customers/{id}/export and /erase: a customer's data on request (admins only),
each request written to the audit log (docs/privacy.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.api.problems import documented
from service.privacy import erasure
from service.privacy.service import remove_files
from service.realtime.protocol import RowId

router = APIRouter(prefix="/customers", tags=["customers"])


@router.get("/{customer_id}/export", response_model=dict[str, Any], responses=documented(404))
async def export_customer(customer_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> Any:
    """All that is kept about the customer, as JSON; the request itself is audited."""
    async with runtime.units() as work:
        data = await erasure.export(work.session, customer_id, runtime.callbacks.sealer)
        counts = {name: len(data[name]) for name in ("chats", "complaints", "ratings")}
        target = ("customer", customer_id)
        await audit.record(work.session, caller, work.now, "customer.export", target, None, counts)
    return data


@router.post("/{customer_id}/erase", response_model=dict[str, Any], responses=documented(404, 409))
async def erase_customer(customer_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> Any:
    """Delete the customer's data; complaint records stay, masked (S-record). 409 while a
    chat of theirs is open."""
    async with runtime.units() as work:
        done = await erasure.erase(work.session, customer_id)
        summary = done.summary()
        summary.pop("cutoff")
        target = ("customer", customer_id)
        await audit.record(work.session, caller, work.now, "customer.erase", target, None, summary)
    await remove_files(runtime.attachments.storage, done.files)
    return summary

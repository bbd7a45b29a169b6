"""/api/v1/callbacks: messages left for a callback (S-callback-24h)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.api.roles import ClearPiiDep
from service.callbacks.schemas import CallbackDone, CallbackOut, CallbackPage
from service.db.models import Callback
from service.privacy.masking import masked_model
from service.realtime.protocol import MAX_ID, RowId

router = APIRouter(prefix="/callbacks", tags=["callbacks"])


@router.get("", response_model=CallbackPage)
async def list_callbacks(
    runtime: RuntimeDep,
    clear: ClearPiiDep,
    status: Literal["open", "done"] | None = None,
    overdue: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> CallbackPage:
    async with runtime.units.read() as session:
        page = await runtime.callbacks.page(
            session,
            runtime.clock.now(),
            status=status,
            overdue=overdue,
            limit=limit,
            offset=offset,
        )
    # S-privacy: the contact a customer left is masked without the pii permission.
    return page if clear else masked_model(page)


@router.get("/{callback_id}", response_model=CallbackOut)
async def get_callback(callback_id: RowId, runtime: RuntimeDep, clear: ClearPiiDep) -> CallbackOut:
    async with runtime.units.read() as session:
        one = await runtime.callbacks.get(session, callback_id, runtime.clock.now())
    return one if clear else masked_model(one)


@router.patch("/{callback_id}", response_model=CallbackOut)
async def complete_callback(
    callback_id: RowId,
    data: CallbackDone,
    runtime: RuntimeDep,
    caller: CallerDep,
    clear: ClearPiiDep,
) -> CallbackOut:
    async with runtime.units() as work:
        before = audit.snapshot(await work.session.get(Callback, callback_id), DONE)
        done = await runtime.callbacks.complete(work, callback_id, data, by=caller.name)
        after = audit.snapshot(await work.session.get(Callback, callback_id), DONE)
        target = ("callback", callback_id)
        await audit.record(
            work.session, caller, work.now, "callback.complete", target, before, after
        )
    return done if clear else masked_model(done)


DONE = ("status", "done_at", "done_by", "outcome")

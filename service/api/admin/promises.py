"""/api/v1/promises: callbacks and follow-ups agents promised (S-callback, S-callback-24h)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.promises.models import Promise
from service.promises.schemas import PromiseDone, PromiseOut, PromisePage
from service.realtime.protocol import MAX_ID, RowId

router = APIRouter(prefix="/promises", tags=["promises"])


@router.get("", response_model=PromisePage)
async def list_promises(
    runtime: RuntimeDep,
    state: Literal["open", "done"] | None = None,
    overdue: bool | None = None,
    kind: Literal["callback", "follow_up"] | None = None,
    agent_id: Annotated[int | None, Query(gt=0, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> PromisePage:
    async with runtime.units.read() as session:
        return await runtime.promises.page(
            session,
            runtime.clock.now(),
            state=state,
            overdue=overdue,
            kind=kind,
            agent_id=agent_id,
            limit=limit,
            offset=offset,
        )


@router.get("/{promise_id}", response_model=PromiseOut)
async def get_promise(promise_id: RowId, runtime: RuntimeDep) -> PromiseOut:
    async with runtime.units.read() as session:
        return await runtime.promises.get(session, promise_id, runtime.clock.now())


@router.patch("/{promise_id}", response_model=PromiseOut)
async def keep_promise(
    promise_id: RowId, data: PromiseDone, runtime: RuntimeDep, caller: CallerDep
) -> PromiseOut:
    async with runtime.units() as work:
        before = audit.snapshot(await work.session.get(Promise, promise_id), DONE)
        kept = await runtime.promises.complete(work, promise_id, data, by=caller.name)
        after = audit.snapshot(await work.session.get(Promise, promise_id), DONE)
        target = ("promise", promise_id)
        await audit.record(
            work.session, caller, work.now, "promise.complete", target, before, after
        )
        return kept


DONE = ("state", "done_at", "done_by", "outcome")

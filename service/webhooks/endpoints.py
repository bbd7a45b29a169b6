"""/api/v1/webhooks: subscriptions and their delivery log (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response, status

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.realtime.protocol import MAX_ID, RowId
from service.webhooks import service
from service.webhooks.schemas import (
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


def state(webhook: WebhookOut) -> dict[str, object]:
    """What the audit log keeps of a subscription: never its secret (STYLE 12)."""
    return webhook.model_dump(mode="json", include={"url", "events", "active"})


DeliveryId = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[0-9a-f]+$")]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated)
async def create_webhook(
    data: WebhookCreate, runtime: RuntimeDep, caller: CallerDep
) -> WebhookCreated:
    async with runtime.units() as work:
        created = await service.create(work, data, runtime.deliveries.guard)
        target = ("webhook", created.id)
        await audit.record(
            work.session, caller, work.now, "webhook.create", target, None, state(created)
        )
    runtime.webhooks.invalidate()
    return created


@router.get("", response_model=list[WebhookOut])
async def list_webhooks(runtime: RuntimeDep) -> list[WebhookOut]:
    async with runtime.units.read() as session:
        return await service.list_all(session)


@router.get("/{webhook_id}", response_model=WebhookOut)
async def get_webhook(webhook_id: RowId, runtime: RuntimeDep) -> WebhookOut:
    async with runtime.units.read() as session:
        return service.out(await service.get(session, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
async def update_webhook(
    webhook_id: RowId, data: WebhookUpdate, runtime: RuntimeDep, caller: CallerDep
) -> WebhookOut:
    async with runtime.units() as work:
        before = state(service.out(await service.get(work.session, webhook_id)))
        updated = await service.update(work, webhook_id, data, runtime.deliveries.guard)
        after = state(updated) | ({"secret": "replaced"} if data.secret is not None else {})
        target = ("webhook", webhook_id)
        await audit.record(work.session, caller, work.now, "webhook.update", target, before, after)
    runtime.webhooks.invalidate()
    runtime.deliveries.poke()  # a subscription switched back on may have deliveries waiting
    return updated


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(webhook_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> Response:
    async with runtime.units() as work:
        before = state(service.out(await service.get(work.session, webhook_id)))
        await service.remove(work, webhook_id)
        target = ("webhook", webhook_id)
        await audit.record(work.session, caller, work.now, "webhook.delete", target, before, {})
    runtime.webhooks.invalidate()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
async def list_deliveries(
    webhook_id: RowId,
    runtime: RuntimeDep,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[DeliveryOut]:
    """The delivery log, newest first: each delivery's attempts and the receiver's last answer."""
    async with runtime.units.read() as session:
        return await service.deliveries(session, webhook_id, status, limit, offset)


@router.post("/{webhook_id}/deliveries/{delivery_id}/retry", response_model=DeliveryOut)
async def retry_delivery(
    webhook_id: RowId,
    delivery_id: DeliveryId,
    runtime: RuntimeDep,
    caller: CallerDep,
) -> DeliveryOut:
    """A failed delivery sent again (its attempts start over)."""
    async with runtime.units() as work:
        retried = await service.retry(work, webhook_id, delivery_id)
        target = ("webhook", webhook_id)
        after = {"delivery_id": delivery_id, "status": "pending"}
        await audit.record(work.session, caller, work.now, "webhook.retry", target, None, after)
    runtime.deliveries.poke()
    return retried

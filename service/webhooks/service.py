"""Webhook subscriptions (admin API) and their delivery log."""

from __future__ import annotations

import secrets

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.unit_of_work import Work
from service.errors import InvalidState, NotFound
from service.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from service.webhooks.schemas import (
    EVENTS,
    DeliveryOut,
    WebhookCreate,
    WebhookCreated,
    WebhookOut,
    WebhookUpdate,
)
from service.webhooks.targets import Guard

HINT_CHARS = 10


def out(webhook: Webhook) -> WebhookOut:
    return WebhookOut(
        id=webhook.id,
        url=webhook.url,
        events=webhook.events,
        active=webhook.active,
        secret_hint=webhook.secret[:HINT_CHARS],
        created_at=webhook.created_at,
        updated_at=webhook.updated_at,
    )


def _in_order(events: list[str]) -> list[str]:
    return [name for name in EVENTS if name in events]


async def create(work: Work, data: WebhookCreate, guard: Guard) -> WebhookCreated:
    await guard.check(data.url)  # SSRF: refused before anything is stored
    secret = data.secret or f"whsec_{secrets.token_urlsafe(32)}"
    webhook = Webhook(
        url=data.url,
        events=_in_order(list(data.events)),
        secret=secret,
        active=True,
        created_at=work.now,
        updated_at=work.now,
    )
    work.session.add(webhook)
    await work.session.flush()
    return WebhookCreated(**out(webhook).model_dump(), secret=secret)


async def get(session: AsyncSession, webhook_id: int) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None:
        raise NotFound(f"no webhook {webhook_id}")
    return webhook


async def list_all(session: AsyncSession) -> list[WebhookOut]:
    return [out(w) for w in await session.scalars(select(Webhook).order_by(Webhook.id))]


async def update(work: Work, webhook_id: int, data: WebhookUpdate, guard: Guard) -> WebhookOut:
    webhook = await get(work.session, webhook_id)
    if data.url is not None:
        await guard.check(data.url)
        webhook.url = data.url
    if data.events is not None:
        webhook.events = _in_order(list(data.events))
    if data.secret is not None:
        webhook.secret = data.secret
    if data.active is not None:
        webhook.active = data.active
    webhook.updated_at = work.now
    return out(webhook)


async def remove(work: Work, webhook_id: int) -> None:
    webhook = await get(work.session, webhook_id)
    await work.session.execute(
        delete(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
    )
    await work.session.delete(webhook)


async def deliveries(
    session: AsyncSession, webhook_id: int, status: str | None, limit: int, offset: int
) -> list[DeliveryOut]:
    await get(session, webhook_id)
    query = select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    query = query.order_by(WebhookDelivery.id.desc()).limit(limit).offset(offset)
    return [delivery_out(row) for row in await session.scalars(query)]


async def retry(work: Work, webhook_id: int, delivery_id: str) -> DeliveryOut:
    """A failed delivery pending again, due now, with its attempts counted anew."""
    row = await work.session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.webhook_id == webhook_id, WebhookDelivery.delivery_id == delivery_id
        )
    )
    if row is None:
        raise NotFound(f"no delivery {delivery_id} of webhook {webhook_id}")
    if row.status != DeliveryStatus.failed:
        raise InvalidState(f"delivery {delivery_id} is {row.status}, not failed")
    row.status, row.attempts, row.next_at, row.leased_until = (
        DeliveryStatus.pending,
        0,
        work.now,
        None,
    )
    return delivery_out(row)


def delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(
        delivery_id=row.delivery_id,
        event=row.event,
        status=row.status,
        attempts=row.attempts,
        next_at=row.next_at if row.status == DeliveryStatus.pending else None,
        last_status=row.last_status,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )

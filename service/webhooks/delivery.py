"""Sending the outbox: claim due deliveries, POST them signed, record what the receiver said.

A delivery is claimed in a short transaction (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so
two processes never take the same row) and leased for ``webhook_lease_s``; it is sent outside
any transaction, and the answer is written in another. A process that dies mid-send leaves a
lease that runs out, and another process sends the delivery again, under the same id: delivery
is at least once, and receivers deduplicate by ``Kefu-Webhook-Id``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select

from service.clock import Clock
from service.db.engine import Database
from service.db.outage import Outage
from service.errors import UnsafeWebhookUrl
from service.settings import Settings
from service.webhooks.models import DeliveryStatus, Webhook, WebhookDelivery
from service.webhooks.signing import signature
from service.webhooks.targets import Guard, networks

log = logging.getLogger(__name__)


def backoff_s(attempts: int, base_s: float, max_s: float) -> float:
    """The wait after the ``attempts``-th failure: base, doubling, capped."""
    return float(min(max_s, base_s * 2 ** (attempts - 1)))


@dataclass(frozen=True, slots=True)
class Claimed:
    id: int
    delivery_id: str
    event: str
    body: str
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class Outcome:
    id: int
    status: int | None
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class Deliveries:
    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        counted: Callable[[str], None] = lambda _outcome: None,
    ) -> None:
        self.database = database
        self.settings = settings
        self.clock = clock
        self._counted = counted
        self._wake = asyncio.Event()
        self._outage = Outage("webhook", log)
        self.guard = Guard(networks(settings.webhook_allow_networks), settings.webhook_timeout_s)

    def poke(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Owned by the supervisor: send what is due, then wait for a poke or the poll."""
        while True:
            try:
                sent = await self.deliver_due()
                self._outage.passed()
            except Exception as exc:
                self._outage.failed(exc)
                sent = 0
            if sent < self.settings.webhook_batch:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.settings.webhook_poll_s)
                except TimeoutError:
                    pass

    async def deliver_due(self) -> int:
        """One pass: the due deliveries claimed, sent and recorded; how many were sent."""
        claimed = await self._claim(self.clock.now())
        if not claimed:
            return 0
        async with httpx.AsyncClient(
            timeout=self.settings.webhook_timeout_s, follow_redirects=False, trust_env=False
        ) as client:
            outcomes = await asyncio.gather(*(self._send(client, item) for item in claimed))
        await self._record(outcomes, self.clock.now())
        return len(claimed)

    async def _claim(self, now: datetime) -> list[Claimed]:
        query = (
            select(WebhookDelivery, Webhook.url, Webhook.secret)
            .join(Webhook, Webhook.id == WebhookDelivery.webhook_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.pending,
                WebhookDelivery.next_at <= now,
                or_(WebhookDelivery.leased_until.is_(None), WebhookDelivery.leased_until <= now),
                Webhook.active.is_(True),
            )
            .order_by(WebhookDelivery.next_at, WebhookDelivery.id)
            .limit(self.settings.webhook_batch)
        )
        if self.database.is_postgres:
            query = query.with_for_update(of=WebhookDelivery, skip_locked=True)
        lease = now + timedelta(seconds=self.settings.webhook_lease_s)
        claimed: list[Claimed] = []
        async with self.database.sessions() as session, session.begin():
            for delivery, url, secret in await session.execute(query):
                delivery.leased_until = lease
                claimed.append(
                    Claimed(
                        delivery.id,
                        delivery.delivery_id,
                        delivery.event,
                        delivery.body,
                        url,
                        secret,
                    )
                )
        return claimed

    async def _send(self, client: httpx.AsyncClient, item: Claimed) -> Outcome:
        body = item.body.encode()
        timestamp = int(self.clock.now().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "kefu-webhooks",
            "Kefu-Webhook-Id": item.delivery_id,
            "Kefu-Webhook-Event": item.event,
            "Kefu-Webhook-Timestamp": str(timestamp),
            "Kefu-Webhook-Signature": signature(item.secret, timestamp, body),
        }
        try:
            # Checked again at each delivery (a name may point elsewhere since), and sent to
            # the address checked, under the URL's own host name (Host header, TLS SNI).
            target = await self.guard.check(item.url)
        except UnsafeWebhookUrl as exc:
            log.warning(
                "webhook.unsafe_url delivery=%s reason=%s", item.delivery_id, exc.extra["reason"]
            )
            return Outcome(item.id, None, exc.message[:500])
        headers["Host"] = target.host_header
        try:
            response = await client.post(
                target.pinned_url(),
                content=body,
                headers=headers,
                extensions={"sni_hostname": target.host},
            )
        except httpx.HTTPError as exc:
            log.info(
                "webhook.unreachable delivery=%s error=%s", item.delivery_id, type(exc).__name__
            )
            return Outcome(item.id, None, f"{type(exc).__name__}: {exc}"[:500])
        if not 200 <= response.status_code < 300:
            log.info(
                "webhook.refused delivery=%s status=%s", item.delivery_id, response.status_code
            )
            return Outcome(item.id, response.status_code, f"HTTP {response.status_code}")
        return Outcome(item.id, response.status_code, None)

    async def _record(self, outcomes: list[Outcome], now: datetime) -> None:
        s = self.settings
        async with self.database.sessions() as session, session.begin():
            rows = await session.scalars(
                select(WebhookDelivery).where(WebhookDelivery.id.in_([o.id for o in outcomes]))
            )
            by_id = {row.id: row for row in rows}
            for outcome in outcomes:
                row = by_id.get(outcome.id)
                if row is None:  # its subscription was deleted meanwhile
                    continue
                row.attempts += 1
                row.leased_until = None
                row.last_status = outcome.status
                row.last_error = outcome.error
                if outcome.delivered:
                    row.status = DeliveryStatus.delivered
                    row.delivered_at = now
                    self._counted("delivered")
                elif row.attempts >= s.webhook_max_attempts:
                    row.status = DeliveryStatus.failed
                    self._counted("failed")
                    log.warning(
                        "webhook.failed delivery=%s attempts=%s", row.delivery_id, row.attempts
                    )
                else:
                    self._counted("retry")
                    wait = backoff_s(row.attempts, s.webhook_retry_base_s, s.webhook_retry_max_s)
                    row.next_at = now + timedelta(seconds=wait)

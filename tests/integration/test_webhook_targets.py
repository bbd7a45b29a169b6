"""SSRF: a webhook never posts to this host, its networks or a metadata service
(service/webhooks/targets.py), checked when it is registered and again at each delivery;
redirects are never followed. Without KEFU_WEBHOOK_ALLOW_NETWORKS here, unlike
tests/integration/test_webhooks.py, whose receiver is local by explicit exception."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.webhooks.models import Webhook, WebhookDelivery
from tests.support.receiver import Receiver
from tests.support.server import Server, running_server, test_settings

SECRET = "whsec_test_secret_0123456789"


def refused(answer: httpx.Response, reason: str) -> None:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["code"], body["reason"]) == ("unsafe_url", reason), body


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:9/hooks", "loopback"),
        ("http://localhost/hooks", "loopback"),
        ("http://[::1]/hooks", "loopback"),
        ("http://[::ffff:127.0.0.1]/hooks", "loopback"),
        ("http://10.0.0.5/hooks", "private"),
        ("http://192.168.1.10:8080/hooks", "private"),
        ("http://169.254.169.254/latest/meta-data/", "a metadata service"),
        ("http://224.0.0.1/hooks", "multicast"),
        ("http://0.0.0.0/hooks", "private"),
        ("https://no-such-host.invalid/hooks", "unresolvable"),
    ],
)
async def test_an_endpoint_that_is_not_public_is_refused_at_registration(
    server: Server, url: str, reason: str
) -> None:
    made = await server.http.post(
        "/api/v1/webhooks", json={"url": url, "events": ["chat.opened"], "secret": SECRET}
    )
    refused(made, reason)
    assert (await server.http.get("/api/v1/webhooks")).json() == []


async def test_moving_an_endpoint_to_a_private_address_is_refused_and_changes_nothing(
    database_url: str, clock: ManualClock
) -> None:
    settings = test_settings(database_url, webhook_allow_networks="10.9.0.0/16")
    async with running_server(settings, clock) as server:
        made = await server.http.post(
            "/api/v1/webhooks",
            json={"url": "http://10.9.0.7/hooks", "events": ["chat.opened"], "secret": SECRET},
        )
        assert made.status_code == 201, made.text  # the operator's own network, let through
        webhook: dict[str, Any] = made.json()
        moved = await server.http.patch(
            f"/api/v1/webhooks/{webhook['id']}", json={"url": "http://10.8.0.7/hooks"}
        )
        refused(moved, "private")
        kept = await server.http.get(f"/api/v1/webhooks/{webhook['id']}")
        assert kept.json()["url"] == "http://10.9.0.7/hooks"


async def test_a_delivery_is_checked_again_and_never_sent_to_a_loopback_address(
    server: Server,
) -> None:
    """A name that pointed elsewhere at registration and points here now: the row holds the
    URL as it was let in; the delivery finds where it leads today and does not send."""
    receiver = Receiver()
    await receiver.start()
    try:
        async with server.runtime.units() as work:
            now = work.now
            work.session.add(
                Webhook(
                    url=receiver.url,
                    events=["chat.opened"],
                    secret=SECRET,
                    active=True,
                    created_at=now,
                    updated_at=now,
                )
            )
        server.runtime.webhooks.invalidate()
        await server.customer()
        assert await server.runtime.deliveries.deliver_due() == 1
    finally:
        await receiver.stop()
    assert receiver.requests == []
    [row] = await server.rows(select(WebhookDelivery))
    assert (row.status, row.attempts, row.last_status) == ("pending", 1, None)
    assert row.last_error is not None and "loopback" in row.last_error


async def test_a_redirect_is_not_followed(database_url: str, clock: ManualClock) -> None:
    target = Receiver()
    redirecting = Receiver(status=307, answer_headers={"Location": target.url})
    settings = test_settings(database_url, webhook_allow_networks="127.0.0.0/8")
    async with running_server(settings, clock) as server:
        await target.start()
        await redirecting.start()
        try:
            made = await server.http.post(
                "/api/v1/webhooks",
                json={"url": redirecting.url, "events": ["chat.opened"], "secret": SECRET},
            )
            assert made.status_code == 201, made.text
            await server.customer()
            assert await server.runtime.deliveries.deliver_due() == 1
        finally:
            await redirecting.stop()
            await target.stop()
        [row] = await server.rows(select(WebhookDelivery))
    assert len(redirecting.requests) == 1 and target.requests == []
    assert (row.status, row.last_status) == ("pending", 307)  # a failure, tried again later

"""Webhooks: subscriptions over the admin API, deliveries from the outbox written with each
event, signed, retried after a receiver that was down comes back, nothing lost, each once."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.webhooks.models import WebhookDelivery
from service.webhooks.schemas import EVENTS
from service.webhooks.signing import verify
from tests.integration.test_metrics import sample
from tests.integration.test_satisfaction import close_through_grace, rate, served
from tests.support.complaints import file, patch
from tests.support.receiver import Receiver
from tests.support.server import Server

SECRET = "whsec_test-secret-0123456789"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The receiver listens on this host: an explicit exception to the SSRF guard, as an
    # operator would make for a receiver of their own network (tests/integration/
    # test_webhook_targets.py has the guard without it).
    return {"webhook_allow_networks": "127.0.0.0/8"}


async def subscribe(server: Server, url: str, events: list[str] | None = None) -> dict[str, Any]:
    answer = await server.http.post(
        "/api/v1/webhooks", json={"url": url, "events": events or list(EVENTS), "secret": SECRET}
    )
    assert answer.status_code == 201, answer.text
    created: dict[str, Any] = answer.json()
    return created


async def log_of(server: Server, webhook_id: int, **params: Any) -> list[dict[str, Any]]:
    answer = await server.http.get(
        f"/api/v1/webhooks/{webhook_id}/deliveries", params={"limit": 500, **params}
    )
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()
    return entries


async def a_served_chat_with_a_complaint(server: Server) -> int:
    """chat.opened, chat.assigned, message.created (welcome, lines, reply), complaint.created,
    complaint.updated, chat.closed: the desk's day in one chat."""
    agent = await server.agent("小王", "1001")
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    for text in ("我充了68块钱", "钻石没到账", "快点"):
        await customer.say(text)
    await agent.say(customer.chat_id, "您好,我帮您查一下")
    row = await file(agent, customer.chat_id)
    await patch(server, row["id"], owner_id=agent.info["agent"]["id"])
    await customer.send({"type": "close"})
    await customer.until("closed")
    return customer.chat_id


def bodies(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(request.body) for request in receiver.requests]


async def test_a_receiver_that_is_down_loses_nothing_and_gets_each_delivery_once(
    server: Server,
) -> None:
    receiver = Receiver()
    webhook = await subscribe(server, receiver.url)
    assert (
        webhook["secret"] == SECRET
        and "secret" not in (await server.http.get(f"/api/v1/webhooks/{webhook['id']}")).json()
    )
    chat_id = await a_served_chat_with_a_complaint(server)

    # Written with the events, in their transactions: all there before any was sent.
    stored = await server.rows(select(WebhookDelivery))
    assert stored and all(row.status == "pending" for row in stored)
    events = Counter(row.event for row in stored)
    for name in ("chat.opened", "chat.assigned", "complaint.created", "complaint.updated"):
        assert events[name] >= 1, events
    assert events["chat.closed"] == 1

    # The receiver is down: every attempt fails and is kept, with what went wrong.
    deliveries = server.runtime.deliveries
    assert await deliveries.deliver_due() == len(stored)
    log = await log_of(server, webhook["id"])
    assert {entry["status"] for entry in log} == {"pending"}
    assert all(entry["attempts"] == 1 and entry["last_error"] for entry in log)
    assert receiver.requests == []

    await receiver.start()
    try:
        assert await deliveries.deliver_due() == 0  # not due before the backoff
        server.clock.advance(10)
        while await deliveries.deliver_due():
            pass
        sent_at = int(server.clock.now().timestamp())
        server.clock.advance(3600)
        assert await deliveries.deliver_due() == 0  # nothing is sent twice
    finally:
        await receiver.stop()

    received = bodies(receiver)
    ids = [body["id"] for body in received]
    assert len(ids) == len(set(ids)) == len(stored)
    assert set(ids) == {row.delivery_id for row in stored}
    for request, body in zip(receiver.requests, received, strict=True):
        headers = request.headers
        assert request.path == "/hooks/kefu"
        assert headers["kefu-webhook-id"] == body["id"]
        assert headers["kefu-webhook-event"] == body["event"]
        stamp, signed = headers["kefu-webhook-timestamp"], headers["kefu-webhook-signature"]
        assert verify(SECRET, stamp, request.body, signed, sent_at)
        assert not verify("another-secret-entirely", stamp, request.body, signed, sent_at)
        assert not verify(SECRET, stamp, request.body + b" ", signed, sent_at)
        assert not verify(SECRET, stamp, request.body, signed, sent_at + 3600)  # a replay
    lines = sorted(
        (b["data"] for b in received if b["event"] == "message.created"), key=lambda d: d["seq"]
    )
    assert [d["text"] for d in lines if d["sender"] == "customer"] == [
        "我充了68块钱",
        "钻石没到账",
        "快点",
    ]
    assert [d["text"] for d in lines if d["sender"] == "agent"] == ["您好,我帮您查一下"]
    assert all(d["chat_id"] == chat_id for d in lines)
    [closed] = [b["data"] for b in received if b["event"] == "chat.closed"]
    assert closed["chat_id"] == chat_id

    log = await log_of(server, webhook["id"])
    assert {entry["status"] for entry in log} == {"delivered"}
    assert all(entry["attempts"] == 2 and entry["last_status"] == 200 for entry in log)
    metrics = (await server.http.get("/metrics")).text
    assert sample(metrics, "kefu_webhook_attempts_total", outcome="retry") == len(stored)
    assert sample(metrics, "kefu_webhook_attempts_total", outcome="delivered") == len(stored)


async def test_only_wanted_events_are_written_and_nothing_while_nobody_subscribes(
    server: Server,
) -> None:
    customer = await server.customer()
    await customer.say("在吗")
    assert await server.rows(select(WebhookDelivery)) == []

    receiver = Receiver()
    webhook = await subscribe(server, receiver.url, ["chat.closed"])
    await customer.say("还在吗")
    await customer.send({"type": "close"})
    await customer.until("closed")
    stored = await server.rows(select(WebhookDelivery))
    assert [row.event for row in stored] == ["chat.closed"]

    # Switched off: nothing more is written for it.
    answer = await server.http.patch(f"/api/v1/webhooks/{webhook['id']}", json={"active": False})
    assert answer.status_code == 200 and answer.json()["active"] is False
    other = await server.customer()
    await other.send({"type": "close"})
    await other.until("closed")
    assert len(await server.rows(select(WebhookDelivery))) == 1


async def test_a_receiver_that_keeps_failing_is_retried_with_backoff_then_marked_failed(
    server: Server,
) -> None:
    receiver = Receiver(status=500)
    webhook = await subscribe(server, receiver.url, ["chat.opened"])
    await server.customer()
    deliveries = server.runtime.deliveries
    await receiver.start()
    try:
        waits = []
        for _ in range(server.runtime.settings.webhook_max_attempts):
            assert await deliveries.deliver_due() == 1
            [entry] = await log_of(server, webhook["id"])
            if entry["status"] == "pending":
                at = server.clock.now()
                waits.append((datetime.fromisoformat(entry["next_at"]) - at).total_seconds())
                server.clock.advance(waits[-1])
        assert waits[:4] == [10, 20, 40, 80] and max(waits) == 3600
        [entry] = await log_of(server, webhook["id"])
        assert entry["status"] == "failed" and entry["last_status"] == 500
        assert len({r.headers["kefu-webhook-id"] for r in receiver.requests}) == 1

        receiver.status = 204
        answer = await server.http.post(
            f"/api/v1/webhooks/{webhook['id']}/deliveries/{entry['delivery_id']}/retry"
        )
        assert answer.status_code == 200 and answer.json()["status"] == "pending"
        assert await deliveries.deliver_due() == 1
    finally:
        await receiver.stop()
    [entry] = await log_of(server, webhook["id"], status="delivered")
    assert entry["attempts"] == 1


async def test_ratings_and_due_callbacks_are_delivered_too(server: Server) -> None:
    receiver = Receiver()
    await subscribe(server, receiver.url, ["rating.created", "callback.due"])
    agent = await server.agent("小王", "1001")
    customer = await served(server, agent)
    await close_through_grace(server, agent, customer)
    await customer.until("closed")
    await rate(customer, 9, "很好")

    await agent.send({"type": "status", "status": "away"})
    await agent.until("status", status="away")
    waiting = await server.customer()
    await waiting.until("queue")
    await waiting.send({"type": "leave_message", "contact": "li@example.com", "text": "退款"})
    await waiting.until("closed")
    [callback] = (await server.http.get("/api/v1/callbacks")).json()["items"]
    assert await server.advance(24 * 3600) >= 1  # S-callback-24h: due, not done

    await receiver.start()
    try:
        while await server.runtime.deliveries.deliver_due():
            pass
    finally:
        await receiver.stop()
    received = {body["event"]: body["data"] for body in bodies(receiver)}
    assert len(receiver.requests) == 2
    assert received["rating.created"]["chat_id"] == customer.chat_id
    assert received["rating.created"]["score"] == 9
    assert received["callback.due"]["callback_id"] == callback["id"]
    assert received["callback.due"]["chat_id"] == waiting.chat_id


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/hook",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "http://user:pass@example.com/hook",
        "example.com/hook",
    ],
)
async def test_a_url_that_is_not_http_is_refused(server: Server, url: str) -> None:
    answer = await server.http.post(
        "/api/v1/webhooks", json={"url": url, "events": ["chat.opened"]}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_request"


async def test_an_unknown_event_is_refused_and_a_new_secret_is_made_when_none_is_given(
    server: Server,
) -> None:
    answer = await server.http.post(
        "/api/v1/webhooks", json={"url": "https://crm.example.com/kefu", "events": ["chat.eaten"]}
    )
    assert answer.status_code == 422
    # A public address (a name would need DNS, which a test machine may lack); never sent to.
    answer = await server.http.post(
        "/api/v1/webhooks", json={"url": "https://93.184.215.14/kefu", "events": ["chat.opened"]}
    )
    assert answer.status_code == 201
    created = answer.json()
    assert created["secret"].startswith("whsec_") and len(created["secret"]) > 30
    assert created["secret_hint"] == created["secret"][:10]
    listed = (await server.http.get("/api/v1/webhooks")).json()
    assert [w["id"] for w in listed] == [created["id"]] and "secret" not in listed[0]
    rotated = await server.http.patch(
        f"/api/v1/webhooks/{created['id']}", json={"secret": "whsec_a-new-secret-0123"}
    )
    assert rotated.json()["secret_hint"] == "whsec_a-ne"
    assert (await server.http.delete(f"/api/v1/webhooks/{created['id']}")).status_code == 204
    assert (await server.http.get(f"/api/v1/webhooks/{created['id']}")).status_code == 404
    # Every change is in the audit log; no secret is.
    log = (await server.http.get("/api/v1/audit", params={"target_type": "webhook"})).json()
    assert [entry["action"] for entry in log["items"]] == [
        "webhook.delete",
        "webhook.update",
        "webhook.create",
    ]
    assert log["items"][1]["after"] == {"secret": "replaced"}
    assert created["secret"] not in json.dumps(log) and "whsec_a-new" not in json.dumps(log)


@pytest.mark.postgres_only
async def test_two_processes_never_send_the_same_delivery(
    server_pair: tuple[Server, Server],
) -> None:
    one, two = server_pair
    receiver = Receiver()
    await subscribe(one, receiver.url, ["message.created"])
    two.runtime.webhooks.invalidate()
    customer = await one.customer()
    for i in range(30):
        await customer.say(f"第{i}条")
    await receiver.start()
    try:
        while sum(
            await asyncio.gather(
                one.runtime.deliveries.deliver_due(), two.runtime.deliveries.deliver_due()
            )
        ):
            pass
    finally:
        await receiver.stop()
    ids = Counter(r.headers["kefu-webhook-id"] for r in receiver.requests)
    assert len(ids) == len(await one.rows(select(WebhookDelivery))) >= 30
    assert set(ids.values()) == {1}


async def test_incidents_declared_and_resolved_are_delivered(server: Server) -> None:
    """Surge mode: a status page or an ops channel learns of an incident and its end."""
    receiver = Receiver()
    await subscribe(server, receiver.url, ["incident.declared", "incident.resolved"])
    eta = server.clock.now() + timedelta(hours=1)
    created = await server.http.post(
        "/api/v1/incidents",
        json={"title": "登录故障", "known_issue": "正在处理", "eta": eta.isoformat()},
    )
    incident_id = created.json()["id"]
    for _ in range(2):  # the second resolve changes nothing and sends nothing
        await server.http.post(
            f"/api/v1/incidents/{incident_id}/resolve", json={"resolution": "已恢复"}
        )
    await receiver.start()
    try:
        while await server.runtime.deliveries.deliver_due():
            pass
    finally:
        await receiver.stop()
    events = [(body["event"], body["data"]) for body in bodies(receiver)]
    assert [name for name, _ in events] == ["incident.declared", "incident.resolved"]
    declared, resolved = events[0][1], events[1][1]
    assert declared["incident_id"] == incident_id and declared["by"] == "admin"
    assert declared["eta"] == "2026-01-05T10:00:00Z" and declared["batch_id"] is None
    assert resolved == {
        "incident_id": incident_id,
        "by": "admin",
        "delivered": 0,
        "at": "2026-01-05T09:00:00Z",
    }

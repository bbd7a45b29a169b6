"""Surge mode (S-classes batch, docs/conduct.md "Surge mode"): 30 customers report one outage
within minutes, the batch forms, an incident is declared (by a supervisor, or by kefu above
KEFU_INCIDENT_AUTO_CUSTOMERS), the next customers get the known-issue answer at once, and the
resolution reaches every linked customer exactly once."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db.models import Message
from service.incidents.models import IncidentDelivery
from tests.support.server import Customer, Server

OUTAGE = "登不上游戏,一直提示连接失败"
RESOLUTION = "登录服务器已恢复,请重新登录。"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Routed at the first message, as in production: the answer must come before routing.
    # Only the supervisor declares here (the next test lets kefu do it).
    return {"route_on": "message", "incident_auto_customers": 0}


async def reporters(server: Server, count: int, start: int = 0) -> list[Customer]:
    """``count`` guests, each on a device and an address of their own, report the outage
    with ``complain`` a few seconds apart."""
    customers = []
    for n in range(start, start + count):
        customer = await server.customer(device=f"d-{n}", address=f"198.51.100.{n + 1}")
        await customer.send({"type": "complain", "topic": "technical", "text": OUTAGE})
        await customer.until("message", template="complaint_ack")
        customers.append(customer)
        await server.advance(5)
    return customers


async def newcomer(server: Server, n: int, text: str) -> tuple[Customer, dict[str, Any]]:
    """A new customer writes a first message; returns the socket and its ``ready``."""
    customer = await server.customer(ready=False, device=f"new-{n}", address=f"203.0.113.{n + 1}")
    ready = await customer.expect("ready")
    customer.chat_id = ready["chat_id"]
    await customer.say(text)
    return customer, ready


async def never_gets(peer: Customer, key: str) -> None:
    """No message of template ``key`` arrives while the socket stays quiet for a while."""
    frames = await peer.drain()
    assert not [frame for frame in frames if frame.get("template") == key], frames


async def templates_sent(server: Server, key: str) -> Counter[int]:
    rows = await server.rows(select(Message.chat_id).where(Message.template == key))
    return Counter(rows)


async def declare_body(server: Server) -> dict[str, Any]:
    eta = server.clock.now() + timedelta(hours=1)
    return {
        "title": "登录服务器故障",
        "keywords": ["登不上", "登录失败"],
        "known_issue": "部分玩家无法登录游戏,技术人员正在紧急处理。",
        "eta": eta.isoformat(),
    }


async def declare(server: Server, **fields: Any) -> dict[str, Any]:
    body = {**(await declare_body(server)), **fields}
    response = await server.http.post("/api/v1/incidents", json=body)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_surge_declared_by_a_supervisor(server: Server) -> None:
    supervisor = await server.supervisor()
    crowd = await reporters(server, 30)  # 30 people within 150 s

    # The batch formed at the 11th person; every report is in it.
    batch = (await supervisor.until("complaint", event="batch"))["batch"]
    assert batch["customers"] == 11 and batch["topic"] == "technical"

    incident = await declare(server, batch_id=batch["id"])
    assert incident["status"] == "open" and incident["linked_chats"] == 30
    # The reporters still in their chats hear at once that it is known, and by when.
    for customer in crowd:
        told = await customer.until("message", template="known_issue")
        assert "2026-01-05 18:02" in told["text"]
    alert = await supervisor.until("alert", kind="incident_declared")
    assert alert["incident_id"] == incident["id"] and alert["batch_id"] == batch["id"]
    # A second supervisor declaring from the same batch is told it is declared already.
    twice = await server.http.post(
        "/api/v1/incidents",
        json={**(await declare_body(server)), "batch_id": batch["id"]},
    )
    assert twice.status_code == 409 and twice.json()["code"] == "invalid_state"

    # The next customers see the banner and get the known-issue answer at once, before any
    # agent: the answer is the very next message of the chat.
    news = []
    for n in range(5):
        customer, ready = await newcomer(server, n, "我登不上游戏了,怎么回事")
        assert ready["incidents"] == [
            {
                "id": incident["id"],
                "title": "登录服务器故障",
                "text": "部分玩家无法登录游戏,技术人员正在紧急处理。",
                "eta": "2026-01-05T10:02:30Z",
            }
        ]
        answer = await customer.until("message", template="known_issue")
        assert "登录服务器故障" in answer["text"] and "2026-01-05 18:02" in answer["text"]
        news.append(customer)
    # Unrelated first messages, and a match only in a second message, get no answer.
    other, _ = await newcomer(server, 10, "怎么充值月卡")
    late, _ = await newcomer(server, 11, "你好")
    await late.say("我也登不上")
    await never_gets(other, "known_issue")
    await never_gets(late, "known_issue")
    answered = await templates_sent(server, "known_issue")
    assert sorted(answered) == sorted(c.chat_id for c in [*crowd, *news])
    assert set(answered.values()) == {1}

    # One reporter leaves a contact for a callback; one leaves without one.
    await crowd[0].send({"type": "leave_message", "contact": "13800000000", "text": "恢复了告诉我"})
    await crowd[0].until("closed")
    await crowd[1].send({"type": "close"})
    await crowd[1].until("closed")

    response = await server.http.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={"resolution": RESOLUTION}
    )
    assert response.status_code == 200, response.text
    resolved = response.json()
    assert resolved["status"] == "resolved" and resolved["linked_chats"] == 35
    # 28 reporters still in their chat + 1 callback + the 5 newcomers; not the one who left.
    assert resolved["delivered"] == 34

    reached = [*crowd[2:], *news]
    for customer in reached:
        message = await customer.until("message", template="incident_resolved")
        assert RESOLUTION in message["text"]
    deliveries = await server.rows(select(IncidentDelivery))
    ways = Counter(delivery.way for delivery in deliveries)
    assert ways == {"message": 33, "callback": 1}
    [callback] = [d for d in deliveries if d.way == "callback"]
    assert callback.chat_id == crowd[0].chat_id and callback.callback_id is not None
    # Whoever calls back sees what to pass on.
    left = (await server.http.get(f"/api/v1/callbacks/{callback.callback_id}")).json()
    assert left["follow_up"] == RESOLUTION and left["status"] == "open"

    # Resolving again (a retry, a second supervisor) tells nobody a second time.
    again = await server.http.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={"resolution": "再说一次"}
    )
    assert again.status_code == 200 and again.json()["delivered"] == 34
    assert again.json()["resolution"] == RESOLUTION
    sent = await templates_sent(server, "incident_resolved")
    assert sorted(sent) == sorted(c.chat_id for c in reached)
    assert set(sent.values()) == {1}
    for customer in reached[:3]:
        await never_gets(customer, "incident_resolved")

    # Closed: new chats get no answer and no banner.
    after, ready = await newcomer(server, 20, "还是登不上")
    assert "incidents" not in ready
    await never_gets(after, "known_issue")


@pytest.mark.parametrize("settings_overrides", [{"route_on": "message"}], ids=["auto"])
async def test_surge_declared_by_kefu_above_the_threshold(
    server: Server, settings_overrides: dict[str, object]
) -> None:
    """KEFU_INCIDENT_AUTO_CUSTOMERS (30): the 30th person declares the incident by itself,
    with the outage words most reports use."""
    supervisor = await server.supervisor()
    crowd = await reporters(server, 29)
    assert (await server.http.get("/api/v1/incidents")).json()["total"] == 0
    crowd += await reporters(server, 1, start=29)

    alert = await supervisor.until("alert", kind="incident_declared")
    assert alert["by"] == "kefu"
    listed = (await server.http.get("/api/v1/incidents?status=open")).json()
    [incident] = listed["items"]
    assert incident["id"] == alert["incident_id"] and incident["declared_by"] == "kefu"
    assert incident["keywords"] == ["登不上"] and incident["linked_chats"] == 30
    assert incident["eta"] == "2026-01-05T10:02:25Z"  # KEFU_INCIDENT_AUTO_ETA_MIN after

    customer, ready = await newcomer(server, 0, "登不上了!!")
    assert [banner["id"] for banner in ready["incidents"]] == [incident["id"]]
    await customer.until("message", template="known_issue")
    # A report after the declaration is linked too (it joins the batch).
    crowd += await reporters(server, 1, start=30)
    # Every reporter (told as kefu declared it, or as their report linked) and the newcomer
    # had the known-issue answer once.
    answered = await templates_sent(server, "known_issue")
    assert sorted(answered) == sorted(one.chat_id for one in [*crowd, customer])
    assert set(answered.values()) == {1}

    response = await server.http.post(
        f"/api/v1/incidents/{incident['id']}/resolve", json={"resolution": RESOLUTION}
    )
    assert response.json()["delivered"] == 32
    for one in [*crowd, customer]:
        await one.until("message", template="incident_resolved")
    sent = await templates_sent(server, "incident_resolved")
    assert len(sent) == 32 and set(sent.values()) == {1}

"""The incidents API (surge mode): typed refusals that change nothing, the audit trail,
complaints linked by their words, and a resolution raced by two processes told once."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from service.db.models import AuditEntry, Message
from service.incidents.models import IncidentLink
from tests.support.complaints import complain
from tests.support.server import Server

RESOLUTION = "充值通道已恢复,到账可能延迟几分钟。"


def body(server: Server, **fields: Any) -> dict[str, Any]:
    return {
        "title": "充值通道故障",
        "keywords": ["没到账", "充值失败"],
        "topic": "recharge",
        "known_issue": "部分充值暂未到账,正在处理。",
        "eta": (server.clock.now() + timedelta(hours=2)).isoformat(),
        **fields,
    }


@pytest.mark.parametrize(
    ("fields", "status", "code"),
    [
        ({"topic": "weather"}, 422, "unknown_topic"),
        ({"batch_id": 999}, 404, "not_found"),
        ({"keywords": ["!!!"]}, 422, "invalid_request"),
        ({"eta": "2026-01-05T12:00:00"}, 422, "invalid_request"),  # no zone
        ({"eta": "2026-01-05T09:00:00Z"}, 422, "invalid_range"),  # not ahead: now
        ({"title": ""}, 422, "invalid_request"),
        ({"keywords": ["x" * 65]}, 422, "invalid_request"),
        ({"surprise": 1}, 422, "invalid_request"),
    ],
)
async def test_a_bad_declaration_is_refused_and_changes_nothing(
    server: Server, fields: dict[str, Any], status: int, code: str
) -> None:
    response = await server.http.post("/api/v1/incidents", json=body(server, **fields))
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    assert (await server.http.get("/api/v1/incidents")).json()["total"] == 0


async def test_unknown_and_resolved_incidents_are_refused(server: Server) -> None:
    missing = await server.http.post("/api/v1/incidents/42/resolve", json={"resolution": "x"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert (await server.http.get("/api/v1/incidents/42")).status_code == 404
    created = (await server.http.post("/api/v1/incidents", json=body(server))).json()
    empty = await server.http.post(
        f"/api/v1/incidents/{created['id']}/resolve", json={"resolution": ""}
    )
    assert empty.status_code == 422
    assert (await server.http.get(f"/api/v1/incidents/{created['id']}")).json()["status"] == "open"
    await server.http.post(
        f"/api/v1/incidents/{created['id']}/resolve", json={"resolution": "好了"}
    )
    late = await server.http.patch(f"/api/v1/incidents/{created['id']}", json={"title": "改"})
    assert late.status_code == 409 and late.json()["code"] == "invalid_state"
    assert (await server.http.get(f"/api/v1/incidents/{created['id']}")).json()["title"] == (
        "充值通道故障"
    )


async def test_an_agent_may_not_declare(server: Server) -> None:
    agent = await server.new_agent("小王", "1001")
    response = await server.http.post(
        "/api/v1/incidents",
        json=body(server),
        headers={"Authorization": f"Bearer {agent['token']}"},
    )
    assert response.status_code == 403
    assert (await server.http.get("/api/v1/incidents")).json()["total"] == 0


async def test_every_change_is_audited_and_a_second_resolve_leaves_no_row(server: Server) -> None:
    created = (await server.http.post("/api/v1/incidents", json=body(server))).json()
    patched = await server.http.patch(
        f"/api/v1/incidents/{created['id']}", json={"keywords": ["没到账"]}
    )
    assert patched.json()["keywords"] == ["没到账"]
    for _ in range(2):
        await server.http.post(
            f"/api/v1/incidents/{created['id']}/resolve", json={"resolution": RESOLUTION}
        )
    entries = await server.rows(select(AuditEntry).order_by(AuditEntry.id))
    assert [(e.action, e.target_type, e.target_id) for e in entries] == [
        ("incident.declare", "incident", str(created["id"])),
        ("incident.update", "incident", str(created["id"])),
        ("incident.resolve", "incident", str(created["id"])),
    ]
    assert entries[1].before == {"keywords": ["没到账", "充值失败"]}
    assert entries[2].after is not None and entries[2].after["status"] == "resolved"


async def test_complaints_whose_words_match_are_linked(server: Server) -> None:
    """An incident declared from scratch links new complaints on its topic that match."""
    created = (await server.http.post("/api/v1/incidents", json=body(server))).json()
    matching = await complain(server, "recharge", "充值68元一直没到账", address="198.51.100.1")
    await complain(server, "recharge", "月卡价格太贵", address="198.51.100.2")
    await complain(server, "account", "账号充值没到账", address="198.51.100.3")  # other topic
    links = await server.rows(select(IncidentLink))
    assert [(link.chat_id, link.why) for link in links] == [(matching.chat_id, "complaint")]
    assert links[0].complaint_id is not None
    listed = (await server.http.get(f"/api/v1/incidents/{created['id']}")).json()
    assert listed["linked_chats"] == 1
    # Only the linked one is told the problem is known.
    told = await server.rows(select(Message.chat_id).where(Message.template == "known_issue"))
    assert told == [matching.chat_id]


async def test_two_processes_resolving_at_once_tell_each_customer_once(
    server_pair: tuple[Server, Server],
) -> None:
    one, two = server_pair
    created = (await one.http.post("/api/v1/incidents", json=body(one))).json()
    customers = []
    for n in range(6):
        server = one if n % 2 else two
        customer = await server.customer(device=f"d{n}", address=f"198.51.100.{n + 1}")
        await customer.say("我充值失败了")
        await customer.until("message", template="known_issue")
        customers.append(customer)
    answers = await asyncio.gather(
        *(
            server.http.post(
                f"/api/v1/incidents/{created['id']}/resolve", json={"resolution": RESOLUTION}
            )
            for server in (one, two, one, two)
        )
    )
    assert {answer.status_code for answer in answers} == {200}
    assert {answer.json()["delivered"] for answer in answers} == {6}
    for customer in customers:
        await customer.until("message", template="incident_resolved")
    told = Counter(
        await one.rows(select(Message.chat_id).where(Message.template == "incident_resolved"))
    )
    assert told == {customer.chat_id: 1 for customer in customers}

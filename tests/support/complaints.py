"""Building notification-table rows through the public ways in, and reading them back."""

from __future__ import annotations

from typing import Any

from tests.support.server import Agent, Customer, Server

# How a row reaches each status through the API (escalation is optional, so "resolved" skips it).
PATH: dict[str, list[str]] = {
    "open": [],
    "acknowledged": ["acknowledged"],
    "escalated": ["escalated"],
    "resolved": ["acknowledged", "resolved"],
    "followed_up": ["acknowledged", "resolved", "followed_up"],
    "closed": ["acknowledged", "resolved", "followed_up", "closed"],
}


async def complain(
    server: Server, topic: str = "recharge", text: str = "充值68元没到账", **hello: Any
) -> Customer:
    """A new customer files a complaint with ``complain`` and gets the acknowledgement."""
    customer = await server.customer(**hello)
    await customer.send({"type": "complain", "topic": topic, "text": text})
    await customer.until("message", template="complaint_ack")
    return customer


async def file(
    agent: Agent,
    chat_id: int,
    topic: str = "recharge",
    summary: str = "充值未到账",
    facts: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The agent files a complaint for a chat; returns the recorded row from the echo."""
    frame: dict[str, Any] = {
        "type": "complaint",
        "chat_id": chat_id,
        "topic": topic,
        "summary": summary,
    }
    if facts is not None:
        frame["facts"] = facts
    await agent.send(frame)
    echo = await agent.until("complaint", event="recorded")
    row: dict[str, Any] = echo["complaint"]
    return row


async def rows(server: Server, **params: Any) -> list[dict[str, Any]]:
    response = await server.http.get("/api/v1/complaints", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def row_of(server: Server, chat_id: int) -> dict[str, Any]:
    [row] = await rows(server, chat_id=chat_id)
    return row


async def detail(server: Server, complaint_id: int) -> dict[str, Any]:
    response = await server.http.get(f"/api/v1/complaints/{complaint_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def patch(server: Server, complaint_id: int, **body: Any) -> dict[str, Any]:
    response = await server.http.patch(f"/api/v1/complaints/{complaint_id}", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def walk(server: Server, complaint_id: int, status: str, owner_id: int) -> dict[str, Any]:
    """Move an open row along the workflow to ``status`` (with an owner, as urgent rows need)."""
    row = await detail(server, complaint_id)
    for step in PATH[status]:
        if step == "followed_up":
            response = await server.http.post(
                f"/api/v1/complaints/{complaint_id}/follow-up",
                json={"result": "satisfied", "note": "回访:客户表示满意"},
            )
            assert response.status_code == 200, response.text
            row = response.json()
        else:
            row = await patch(server, complaint_id, status=step, owner_id=owner_id)
    assert row["status"] == status
    return row

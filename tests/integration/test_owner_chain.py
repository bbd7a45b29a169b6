"""S-first-responder (首问负责制): every chat keeps its chain of owners, who took it, when and
how each let go (transfer, accept timeout, offline, gone, close), in the transcript, and the
chats dropped per agent are in the report (an agent sees only their own line)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from service.owners.models import OwnerEvent
from tests.integration.test_transfers import held_by, transfer
from tests.support.server import Server

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def spans(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """The chain without the owners' names, to compare with ``span``s."""
    return [
        {k: v for k, v in owner.items() if k not in ("name", "employee_no")}
        for owner in detail["owners"]
    ]


def span(agent: int, took: float, how: str, left: float | None, left_how: str | None) -> Any:
    return {
        "agent_id": agent,
        "took_at": at(took),
        "took_how": how,
        "left_at": None if left is None else at(left),
        "left_how": left_how,
    }


async def test_the_chain_follows_transfer_timeout_offline_and_close(server: Server) -> None:
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    second = await server.agent("乙", "2002")
    a, b = first.info["agent"]["id"], second.info["agent"]["id"]

    await server.advance(10)
    await first.send(transfer(customer.chat_id, to_agent=b))
    await second.until("assigned", chat_id=customer.chat_id)
    # The colleague never answers: the accept timeout takes it back, the first agent gets it.
    await customer.say("在吗?")
    await server.advance(90)
    await second.until("unassigned", chat_id=customer.chat_id, reason="accept_timeout")
    await first.until("assigned", chat_id=customer.chat_id)
    # The first agent goes offline: back to the queue; the colleague comes back and takes it.
    await server.advance(5)
    await first.send({"type": "status", "status": "offline"})
    await first.until("unassigned", chat_id=customer.chat_id, reason="offline")
    await server.advance(5)
    await second.send({"type": "status", "status": "online"})
    await second.until("assigned", chat_id=customer.chat_id)
    await server.advance(5)
    closed = await server.http.post(f"/api/v1/chats/{customer.chat_id}/close")
    assert closed.status_code == 200

    detail = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    # Each owner is named as the pages show them (the console cannot list agents).
    assert [(o["name"], o["employee_no"]) for o in detail["owners"]] == [
        ("甲", "2001"),
        ("乙", "2002"),
        ("甲", "2001"),
        ("乙", "2002"),
    ]
    assert spans(detail) == [
        span(a, 0, "routed", 10, "transfer"),
        span(b, 10, "transfer", 100, "accept_timeout"),
        span(a, 100, "routed", 105, "offline"),
        span(b, 110, "routed", 115, "closed"),
    ]
    # Every change is one row, written with the change (never a gap with no reason).
    events = await server.rows(select(OwnerEvent).where(OwnerEvent.chat_id == customer.chat_id))
    assert [(e.from_agent_id, e.to_agent_id, e.why) for e in events] == [
        (None, a, "routed"),
        (a, b, "transfer"),
        (b, None, "accept_timeout"),
        (None, a, "routed"),
        (a, None, "offline"),
        (None, b, "routed"),
        (b, None, "closed"),
    ]

    report = (await server.http.get("/api/v1/reports/drops")).json()
    assert [(r["agent_id"], r["dropped"], r["reasons"]) for r in report["items"]] == [
        (a, 1, {"offline": 1}),
        (b, 1, {"accept_timeout": 1}),
    ]
    # An agent reads only their own line, and their own chat's chain.
    mine = {"Authorization": f"Bearer {second.info['token']}"}
    own = (await server.http.get("/api/v1/reports/drops", headers=mine)).json()
    assert [r["agent_id"] for r in own["items"]] == [b]
    theirs = await server.http.get(f"/api/v1/chats/{customer.chat_id}", headers=mine)
    assert theirs.json()["owners"][-1]["agent_id"] == b


async def test_an_agent_whose_socket_is_gone_drops_the_chat_with_the_reason(
    server: Server,
) -> None:
    agent = await server.agent("甲", "2001")
    customer = await held_by(server, agent)
    a = agent.info["agent"]["id"]
    await server.leave(agent)
    assert await server.advance(60) == 1  # KEFU_AGENT_GRACE_S: the agent did not come back
    await customer.until("message", template="returned_to_queue")

    detail = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert detail["status"] == "queued" and detail["agent_id"] is None
    assert spans(detail) == [span(a, 0, "routed", 60, "gone")]
    report = (await server.http.get("/api/v1/reports/drops")).json()
    assert [(r["agent_id"], r["reasons"]) for r in report["items"]] == [(a, {"gone": 1})]


async def test_the_drop_report_counts_within_its_range(server: Server) -> None:
    agent = await server.agent("甲", "2001")
    customer = await held_by(server, agent)
    await server.advance(30)
    await agent.send({"type": "status", "status": "offline"})
    await agent.until("unassigned", chat_id=customer.chat_id, reason="offline")
    before = {"until": at(30)}
    after = {"since": at(30)}
    assert (await server.http.get("/api/v1/reports/drops", params=before)).json()["items"] == []
    [row] = (await server.http.get("/api/v1/reports/drops", params=after)).json()["items"]
    assert row["reasons"] == {"offline": 1}
    bad = await server.http.get("/api/v1/reports/drops", params={"since": "yesterday"})
    assert bad.status_code == 422


async def test_an_agent_disabled_by_an_admin_lets_go_with_that_reason(server: Server) -> None:
    agent = await server.agent("甲", "2001")
    customer = await held_by(server, agent)
    a = agent.info["agent"]["id"]
    await server.advance(20)
    response = await server.http.patch(f"/api/v1/agents/{a}", json={"active": False})
    assert response.status_code == 200
    await customer.until("message", template="returned_to_queue")

    detail = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert spans(detail) == [span(a, 0, "routed", 20, "disabled")]

"""The workflow over the admin API: every move allowed or refused (409), owners, follow-ups,
deadlines and the overdue push."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaints import complain, detail, patch, row_of, walk
from tests.support.server import Server

HOUR = 3600.0
STATUSES = [
    "draft",
    "open",
    "acknowledged",
    "escalated",
    "resolved",
    "followed_up",
    "closed",
    "dismissed",
]
ALLOWED = {
    ("draft", "open"),
    ("draft", "dismissed"),
    ("open", "acknowledged"),
    ("open", "escalated"),
    ("acknowledged", "escalated"),
    ("acknowledged", "resolved"),
    ("escalated", "resolved"),
    ("followed_up", "closed"),
}
# Refused with a pointer to what is missing rather than a bare invalid_state (S-follow-up).
NEEDS_FOLLOW_UP = {
    ("resolved", "followed_up"),
    ("open", "closed"),
    ("acknowledged", "closed"),
    ("escalated", "closed"),
    ("resolved", "closed"),
}


async def row_in(server: Server, status: str, owner_id: int) -> dict[str, Any]:
    """A fresh complaint in ``status``, made through the public ways in."""
    if status in ("draft", "dismissed"):
        customer = await server.customer()
        said = await customer.say("我要投诉")
        await customer.until("message", seq=said["seq"])
        row = await row_of(server, customer.chat_id)
        if status == "dismissed":
            row = await patch(server, row["id"], status="dismissed")
        return row
    customer = await complain(server)
    return await walk(server, (await row_of(server, customer.chat_id))["id"], status, owner_id)


@pytest.mark.parametrize("source", STATUSES)
async def test_every_move_from_a_status_is_allowed_or_refused_with_409(
    server: Server, source: str
) -> None:
    owner = (await server.new_agent("组长", "7001", role="supervisor"))["id"]
    for target in STATUSES:
        row = await row_in(server, source, owner)
        before = await detail(server, row["id"])
        # The owner urgent rows need goes along (a finished row keeps the one it has).
        finished = source in ("closed", "dismissed")
        body = {"status": target, "owner_id": row["owner_id"] if finished else owner}
        response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json=body)
        move = f"{source} -> {target}"
        if target == source or (source, target) in ALLOWED:
            assert response.status_code == 200, (move, response.text)
            assert response.json()["status"] == target, move
            continue
        assert response.status_code == 409, (move, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        expected = "follow_up_required" if (source, target) in NEEDS_FOLLOW_UP else "invalid_state"
        assert problem["code"] == expected, (move, problem)
        assert (problem["status"], problem["from"], problem["to"]) == (409, source, target)
        assert problem["type"] == f"https://kefu.dev/problems/{expected}"
        if expected == "invalid_state":
            # The workflow's next statuses; followed_up is reached by recording the follow-up.
            nexts = ALLOWED | {("resolved", "followed_up")}
            assert problem["allowed"] == sorted(t for s, t in nexts if s == source), move
        # A refused request changes nothing, not even the owner sent along with it.
        assert await detail(server, row["id"]) == before, move


async def test_urgent_rows_need_an_owner_before_they_move_on(server: Server) -> None:
    owner = await server.new_agent("组长", "7001", role="supervisor")
    customer = await complain(server, player=server.player("p-vip", tier="vip1"))
    row = await row_of(server, customer.chat_id)
    assert row["class"] == "urgent" and row["owner_id"] is None

    response = await server.http.patch(
        f"/api/v1/complaints/{row['id']}", json={"status": "acknowledged"}
    )
    assert response.status_code == 409
    assert response.json()["code"] == "owner_required"
    assert (await row_of(server, customer.chat_id))["status"] == "open"

    moved = await patch(server, row["id"], status="acknowledged", owner_id=owner["id"])
    assert (moved["status"], moved["owner_id"]) == ("acknowledged", owner["id"])
    response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json={"owner_id": None})
    assert response.json()["code"] == "owner_required"
    # A comment needs no owner check.
    assert (await patch(server, row["id"], comment="已联系财务"))["owner_id"] == owner["id"]


async def test_escalating_makes_a_row_urgent_and_needs_an_owner(server: Server) -> None:
    owner = await server.new_agent("组长", "7001", role="supervisor")
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    response = await server.http.patch(
        f"/api/v1/complaints/{row['id']}", json={"status": "escalated"}
    )
    assert response.json()["code"] == "owner_required"
    escalated = await patch(server, row["id"], status="escalated", owner_id=owner["id"])
    assert escalated["reasons"] == ["escalated"] and escalated["class"] == "urgent"


async def test_owner_must_be_an_active_agent(server: Server) -> None:
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json={"owner_id": 999})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_agent")


async def test_follow_up_is_recorded_before_closing(server: Server) -> None:
    owner = (await server.new_agent("组长", "7001", role="supervisor"))["id"]
    customer = await complain(server)
    row = await walk(server, (await row_of(server, customer.chat_id))["id"], "resolved", owner)
    # S-follow-up: due a week after the answer.
    assert row["resolved_at"] == "2026-01-05T09:00:00Z"
    assert row["follow_up_due_at"] == row["due_at"] == "2026-01-12T09:00:00Z"
    url = f"/api/v1/complaints/{row['id']}/follow-up"

    tried = await server.http.post(url, json={"result": "unreachable", "note": "电话未接通"})
    assert tried.json()["status"] == "resolved" and tried.json()["due_at"] is not None
    done = await server.http.post(url, json={"result": "satisfied", "note": "客户满意"})
    body = done.json()
    assert (body["status"], body["follow_up_result"], body["due_at"]) == (
        "followed_up",
        "satisfied",
        None,
    )
    assert [(e["action"], e["to"], e["comment"]) for e in body["history"][-3:]] == [
        ("follow_up", "unreachable", "电话未接通"),
        ("follow_up", "satisfied", "客户满意"),
        ("status", "followed_up", None),
    ]
    again = await server.http.post(url, json={"result": "satisfied", "note": "再次回访"})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    closed = await patch(server, row["id"], status="closed")
    assert closed["closed_at"] == "2026-01-05T09:00:00Z"


async def test_follow_up_on_an_open_row_is_refused(server: Server) -> None:
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    response = await server.http.post(
        f"/api/v1/complaints/{row['id']}/follow-up", json={"result": "satisfied", "note": "x"}
    )
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")
    response = await server.http.post(
        f"/api/v1/complaints/{row['id']}/follow-up", json={"result": "happy", "note": "x"}
    )
    assert response.status_code == 422


async def test_overdue_rows_are_pushed_once_and_listed(server: Server) -> None:
    supervisor = await server.supervisor()
    owner = await server.agent("组长", "7001", status="away")
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    await patch(server, row["id"], owner_id=owner.info["agent"]["id"])

    await server.advance(48 * HOUR - 1)
    await supervisor.quiet_for("complaint")
    listed = await server.http.get("/api/v1/complaints", params={"overdue": "true"})
    assert listed.json()["total"] == 0

    await server.advance(1)  # S-complaint-48h: due now
    for peer in (supervisor, owner):
        alert = await peer.until("complaint", event="overdue")
        assert alert["complaint"]["id"] == row["id"] and alert["complaint"]["overdue"] is True
    listed = await server.http.get("/api/v1/complaints", params={"overdue": "true"})
    assert [item["id"] for item in listed.json()["items"]] == [row["id"]]

    # Once per deadline: later changes do not repeat it.
    await patch(server, row["id"], comment="正在处理")
    await server.advance(HOUR)
    await supervisor.quiet_for("complaint")
    history = (await detail(server, row["id"]))["history"]
    assert [e["action"] for e in history].count("overdue") == 1

    # The next deadline (the follow-up) gets its own alert.
    await walk(server, row["id"], "resolved", owner.info["agent"]["id"])
    await server.advance(7 * 24 * HOUR)
    await supervisor.until("complaint", event="overdue")


async def test_an_answered_complaint_is_not_overdue(server: Server) -> None:
    supervisor = await server.supervisor()
    owner = (await server.new_agent("组长", "7001", role="supervisor"))["id"]
    customer = await complain(server)
    await walk(server, (await row_of(server, customer.chat_id))["id"], "followed_up", owner)
    await server.advance(30 * 24 * HOUR)
    await supervisor.quiet_for("complaint")


async def test_unknown_complaint_is_404(server: Server) -> None:
    for response in (
        await server.http.get("/api/v1/complaints/999"),
        await server.http.patch("/api/v1/complaints/999", json={"comment": "x"}),
        await server.http.post(
            "/api/v1/complaints/999/follow-up", json={"result": "satisfied", "note": "x"}
        ),
    ):
        assert (response.status_code, response.json()["code"]) == (404, "not_found")

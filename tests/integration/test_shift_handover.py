"""Shift handover (S-no-unattended, S-follow-up): at a shift's end the open chats, unfinished
complaints and open promises of the agents going off pass to the next shift, each passing
recorded with a handoff note; the shifts are readable over the admin API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from service.clock import ManualClock
from service.complaints.models import ComplaintEvent
from service.db.models import Chat, Message
from tests.support.server import Agent, Customer, Server, running_server, test_settings

# The clock starts at 17:00 in Asia/Shanghai: the day shift is on, the evening shift at 18:00.
SHIFTS = "day 09:00-18:00 1001 1003; evening 18:00-02:00 2001 2002 1003"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # Long conversation clocks: only the shift's end happens in the hour the test skips.
    return {
        "shifts": SHIFTS,
        "idle_prompt_s": 86400.0,
        "long_wait_s": 86400.0,
        "accept_timeout_s": 86400.0,
    }


async def sign_in(server: Server, name: str, number: str, **hello: Any) -> Agent:
    return await server.agent(name, number, **hello)


async def served_by(server: Server, agent: Agent) -> Customer:
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "您好,请问有什么可以帮您?")
    return customer


async def test_shifts_are_readable_over_the_admin_api(server: Server) -> None:
    body = (await server.http.get("/api/v1/shifts")).json()
    assert body["timezone"] == "Asia/Shanghai"
    assert [(s["name"], s["hours"], s["employees"], s["on_duty"]) for s in body["shifts"]] == [
        ("day", "09:00-18:00", ["1001", "1003"], True),
        ("evening", "18:00-02:00", ["2001", "2002", "1003"], False),
    ]
    assert body["next_end"] == "2026-01-05T10:00:00Z"  # 18:00 local
    assert (await server.armed("shift_end")).payload == {"shifts": ["day"]}


async def test_at_shift_end_chats_complaints_and_promises_pass_to_the_next_shift(
    server: Server,
) -> None:
    going = await sign_in(server, "白班甲", "1001", capacity=3)
    staying = await sign_in(server, "两班丙", "1003", status="away")  # on both shifts
    first, second, third = [await served_by(server, going) for _ in range(3)]
    next_a = await sign_in(server, "晚班乙", "2001", capacity=1, status="away")
    next_b = await sign_in(server, "晚班丁", "2002", status="away")

    await going.send(
        {"type": "complaint", "chat_id": first.chat_id, "topic": "recharge", "summary": "未到账"}
    )
    complaint = (await going.until("complaint", event="recorded"))["complaint"]
    await going.send(
        {
            "type": "promise",
            "chat_id": second.chat_id,
            "kind": "callback",
            "due_at": "2026-01-05T18:30:00+08:00",
        }
    )
    promise = (await going.until("promise", event="made"))["promise"]
    # The evening agent 2001 comes online before 18:00 (one free seat); 2002 stays away.
    await next_a.send({"type": "status", "status": "online"})
    await next_a.until("status", status="online")
    await going.drain()

    assert await server.advance(3600) == 1  # 18:00: the day shift ends
    a_id, b_id = next_a.info["agent"]["id"], next_b.info["agent"]["id"]
    going_id = going.info["agent"]["id"]

    # The three chats: the first to the one serving evening agent's one seat, the others back
    # to the queue (nobody serving has a seat); the day agent is told of each.
    taken = await next_a.until("assigned", chat_id=first.chat_id)
    note = [m for m in taken["history"] if m.get("kind") == "handoff"]
    assert len(note) == 1
    assert note[0]["text"].startswith(
        "交接班:day班于2026-01-05 18:00结束,白班甲(工号1001)的对话交给晚班乙"
    )
    assert (await first.until("message", template="transferred"))["sender"] == "system"
    for customer in (second, third):
        await customer.until("message", template="transferred")
        await customer.until("queue")
    frames = await going.drain()
    assert {"type": "status", "status": "away"} in frames  # off duty: no new chats
    gone = [f for f in frames if f["type"] == "unassigned"]
    assert sorted(f["chat_id"] for f in gone) == sorted(c.chat_id for c in (first, second, third))
    assert {f["reason"] for f in gone} == {"shift_end"}

    # The complaint and the promise go to the serving evening agent, each told.
    told = await next_a.drain()
    [handed] = [f for f in told if f["type"] == "promise"]
    assert handed["event"] == "handed_over"
    assert (handed["promise"]["id"], handed["promise"]["agent"]["id"]) == (promise["id"], a_id)
    [updated] = [f for f in told if f["type"] == "complaint"]
    assert (updated["event"], updated["complaint"]["id"]) == ("updated", complaint["id"])
    assert updated["complaint"]["owner_id"] == a_id
    events = await server.rows(
        select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint["id"])
    )
    assert [(e.actor, e.action) for e in events][-2:] == [
        ("shift:day", "owner"),
        ("shift:day", "comment"),
    ]

    # Every passing is a row: from, to, what, when, why.
    rows = (await server.http.get("/api/v1/handovers")).json()
    assert rows["total"] == 5
    passed = {(r["what"], r["ref_id"]): r for r in rows["items"]}
    assert {key: r["to_agent_id"] for key, r in passed.items()} == {
        ("chat", first.chat_id): a_id,
        ("chat", second.chat_id): None,
        ("chat", third.chat_id): None,
        ("complaint", complaint["id"]): a_id,
        ("promise", promise["id"]): a_id,
    }
    assert all(
        (r["from_agent_id"], r["why"], r["shift"], r["at"])
        == (going_id, "shift_end", "day", "2026-01-05T10:00:00Z")
        for r in rows["items"]
    )
    # The agent on both shifts keeps everything; the away one got nothing.
    assert (await server.http.get("/api/v1/handovers", params={"agent_id": b_id})).json()[
        "total"
    ] == 0
    assert staying.info["agent"]["id"] not in {r["to_agent_id"] for r in rows["items"]}

    # The chats left in the queue went there through routing: queued, nobody holding them.
    chats = {c.id: c for c in await server.rows(select(Chat))}
    assert chats[first.chat_id].agent_id == a_id
    assert [chats[c.chat_id].status for c in (second, third)] == ["queued", "queued"]
    # When 2002 comes online, routing hands them the waiting chats.
    await next_b.send({"type": "status", "status": "online"})
    await next_b.until("assigned", chat_id=second.chat_id)
    await next_b.until("assigned", chat_id=third.chat_id)
    # The next end is armed: the evening shift at 02:00.
    assert (await server.armed("shift_end")).payload == {"shifts": ["evening"]}
    notes = await server.rows(select(Message).where(Message.kind == "handoff"))
    assert len(notes) == 3 and all(n.internal for n in notes)


async def test_nobody_on_the_next_shift_keeps_the_chats_queued_and_recorded(
    server: Server,
) -> None:
    going = await sign_in(server, "白班甲", "1001")
    customer = await served_by(server, going)
    assert await server.advance(3600) == 1
    await customer.until("message", template="transferred")
    await customer.until("queue", position=1)
    [row] = (await server.http.get("/api/v1/handovers")).json()["items"]
    assert (row["what"], row["ref_id"], row["to_agent_id"]) == ("chat", customer.chat_id, None)
    assert row["note"].endswith("无人接手,退回队列")


async def test_a_shift_end_missed_while_no_process_ran_is_handed_over_at_the_next_start(
    database_url: str, clock: ManualClock, settings_overrides: dict[str, object]
) -> None:
    settings = test_settings(database_url, **settings_overrides)
    async with running_server(settings, clock) as first:
        assert (await first.armed("shift_end")).due_at == datetime(2026, 1, 5, 10, tzinfo=UTC)
    clock.advance(2 * 3600)  # 19:00 local: the day shift ended while nothing ran
    async with running_server(settings, clock) as second:
        # Start-up kept the pending end instead of arming the next one over it.
        timer = await second.armed("shift_end")
        assert (timer.due_at, timer.payload) == (
            datetime(2026, 1, 5, 10, tzinfo=UTC),
            {"shifts": ["day"]},
        )
        assert await second.advance(0) == 1
        timer = await second.armed("shift_end")  # 02:00 local, the evening shift's end
        assert (timer.due_at, timer.payload) == (
            datetime(2026, 1, 5, 18, tzinfo=UTC),
            {"shifts": ["evening"]},
        )


async def test_the_chains_of_owners_show_the_shift_end(server: Server) -> None:
    """S-first-responder: a chat and a complaint passed on at a shift's end say so in their
    chains of owners; the chat that found no taker left with the same reason."""
    going = await sign_in(server, "白班甲", "1001", capacity=2)
    passed, queued = await served_by(server, going), await served_by(server, going)
    await going.send(
        {"type": "complaint", "chat_id": passed.chat_id, "topic": "recharge", "summary": "未到账"}
    )
    complaint = (await going.until("complaint", event="recorded"))["complaint"]
    taker = await sign_in(server, "晚班乙", "2001", capacity=1, status="away")
    await taker.send({"type": "status", "status": "online"})
    await taker.until("status", status="online")
    assert await server.advance(3600) == 1  # 18:00: the day shift ends
    await taker.until("assigned", chat_id=passed.chat_id)
    await queued.until("queue")
    g, t = going.info["agent"]["id"], taker.info["agent"]["id"]

    def owners(body: dict[str, Any]) -> list[tuple[int, str, str | None]]:
        return [(o["agent_id"], o["took_how"], o["left_how"]) for o in body["owners"]]

    chat = (await server.http.get(f"/api/v1/chats/{passed.chat_id}")).json()
    assert owners(chat) == [(g, "routed", "shift_end"), (t, "shift_end", None)]
    assert chat["owners"][0]["left_at"] == chat["owners"][1]["took_at"] == "2026-01-05T10:00:00Z"
    left = (await server.http.get(f"/api/v1/chats/{queued.chat_id}")).json()
    assert owners(left) == [(g, "routed", "shift_end")]
    # A shift end is a handover, not a drop.
    assert (await server.http.get("/api/v1/reports/drops")).json()["items"] == []
    detail = (await server.http.get(f"/api/v1/complaints/{complaint['id']}")).json()
    assert owners(detail) == [(g, "recorded", "shift:day"), (t, "shift:day", None)]

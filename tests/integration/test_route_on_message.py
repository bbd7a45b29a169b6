"""The default routing: a chat joins the line for an agent at its customer's first message.

S-welcome holds at hello all the same; a widget opened and left silent takes nobody's seat, starts
no silent-agent clock (S-answer-fast) and no long wait (S-long-wait), and its place is honest.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from service.db.models import Agent, Chat, TimingEvent
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("settings_overrides", [{"route_on": "message"}])


async def test_a_silent_customer_is_welcomed_but_not_routed(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer(ready=False)
    ready = await customer.expect("ready")
    assert ready["status"] == "queued"
    assert ready["in_line"] is False
    assert ready["position"] == 1
    await customer.expect("message", template="welcome")
    customer.chat_id = ready["chat_id"]

    # Ten minutes of silence: no seat taken, nobody set away, no apology owed.
    await server.advance(600)
    await agent.quiet()
    await customer.quiet()
    [row] = await server.rows(select(Agent.status).where(Agent.id == agent.info["agent"]["id"]))
    assert row == "online"
    assert await server.rows(select(TimingEvent)) == []

    await customer.say("充值没到账")
    assigned = await agent.until("assigned", chat_id=customer.chat_id)
    assert [m["text"] for m in assigned["history"] if m["sender"] == "customer"] == ["充值没到账"]
    await customer.until("assigned")


async def test_the_silent_agent_clock_starts_at_the_first_message(server: Server) -> None:
    agent = await server.agent("甲", "2001")
    customer = await server.customer()
    await server.advance(300)
    await customer.say("在吗?")
    await agent.until("assigned", chat_id=customer.chat_id)
    await server.advance(89)
    await agent.quiet_for("unassigned")
    await server.advance(1)
    await agent.until("unassigned", chat_id=customer.chat_id, reason="accept_timeout")


async def test_places_count_only_the_chats_in_line(server: Server) -> None:
    first = await server.customer()
    second = await server.customer()
    await first.say("一")
    await first.until("queue", position=1)
    await second.say("二")
    await second.until("queue", position=2)

    silent = await server.customer(ready=False)
    ready = await silent.expect("ready")
    # Where it would stand if it wrote now: behind the two in line.
    assert (ready["in_line"], ready["position"]) == (False, 3)
    silent.chat_id = ready["chat_id"]

    # A silent chat leaving moves nobody; one in line leaving moves those behind it.
    await silent.send({"type": "close"})
    await silent.until("closed")
    await second.quiet_for("queue")
    await first.send({"type": "close"})
    await first.until("closed")
    await second.until("queue", position=1)

    report = (await server.http.get("/api/v1/reports/queue")).json()
    assert report["length"] == 1
    assert report["longest_chat_id"] == second.chat_id


async def test_the_line_keeps_the_order_of_first_messages(server: Server) -> None:
    early = await server.customer()
    late = await server.customer()
    await late.say("我先说")
    await late.until("queue", position=1)
    server.clock.advance(1)
    await early.say("我后说")
    await early.until("queue", position=2)

    agent = await server.agent(capacity=1)
    await agent.until("assigned", chat_id=late.chat_id)
    await late.until("assigned")
    await early.quiet_for("assigned")


async def test_a_resumed_silent_chat_joins_the_line_at_its_first_message(server: Server) -> None:
    customer = await server.customer()
    await customer.close()
    again = await server.customer(ready=False, resume={"token": customer.token, "last_seq": 1})
    ready = await again.expect("ready", chat_id=customer.chat_id)
    assert ready["in_line"] is False

    agent = await server.agent()
    await agent.quiet_for("assigned")
    again.chat_id = customer.chat_id
    await again.say("我回来了")
    await agent.until("assigned", chat_id=customer.chat_id)
    [chat] = await server.rows(select(Chat).where(Chat.id == customer.chat_id))
    assert chat.agent_id == agent.info["agent"]["id"]


async def test_a_rejected_first_message_leaves_the_chat_out_of_line(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await customer.send({"type": "message", "client_id": "x", "text": "字" * 5000})
    await customer.until("error", code="text_too_long")
    await agent.quiet_for("assigned")
    await customer.say("短一点")
    await agent.until("assigned", chat_id=customer.chat_id)


async def test_nobody_online_is_told_at_hello(server: Server) -> None:
    customer = await server.customer()
    await customer.until("message", template="nobody_online")


async def test_a_storm_of_leavers_leaves_every_place_right(server: Server) -> None:
    """Places are told after the line moves, coalesced: never a wrong place, the last one right."""
    customers = [await server.customer() for _ in range(24)]
    for n, customer in enumerate(customers, 1):
        await customer.say(f"问题 {n}")
        await customer.until("queue", position=n)
        server.clock.advance(1)
    leavers, stayers = [*customers[0:20:2], customers[1], customers[3]], customers[-4:]
    await asyncio.gather(*(c.send({"type": "close"}) for c in leavers))
    for customer in leavers:
        await customer.until("closed")

    left = len(customers) - len(stayers) - len(leavers)  # the ones between, still in line
    for place, customer in enumerate(stayers, left + 1):
        told = [f["position"] for f in await customer.drain() if f["type"] == "queue"]
        assert told, "a customer whose place changed was not told"
        assert told == sorted(told, reverse=True), told  # only ever moving up
        assert told[-1] == place
    report = (await server.http.get("/api/v1/reports/queue")).json()
    assert report["length"] == len(customers) - len(leavers)

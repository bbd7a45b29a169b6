"""A newly assigned agent who says nothing loses the chat (S-first-responder: no silent drops)."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Chat, TimingEvent
from tests.integration.test_hold import hold
from tests.integration.test_long_wait import templates
from tests.support.server import Server

REASSIGNED = "非常抱歉让您久等了,现在为您安排其他客服人员"


async def test_silent_agent_loses_the_chat_to_another_free_agent(server: Server) -> None:
    silent = await server.agent("甲", "2001")
    customer = await server.customer()
    await silent.expect("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")
    other = await server.agent("乙", "2002")
    await customer.say("在吗?")

    await server.advance(89)
    [chat] = await server.rows(select(Chat).where(Chat.id == customer.chat_id))
    assert chat.agent_id == silent.info["agent"]["id"]

    await server.advance(1)
    await silent.until("unassigned", chat_id=customer.chat_id, reason="accept_timeout")
    # Like a call centre's "redirect on no answer": the agent is set away, not sent more.
    await silent.expect("status", status="away")
    told = await customer.until("message", template="reassigned")
    assert told["text"].startswith(REASSIGNED)
    assigned = await customer.expect("assigned")
    assert assigned["agent"] == {"name": "乙", "employee_no": "2002"}
    taken = await other.expect("assigned", chat_id=customer.chat_id)
    # The new agent sees everything, the customer's question included.
    assert [m["text"] for m in taken["history"] if m["sender"] == "customer"] == ["在吗?"]

    # The event is counted against the first agent.
    [event] = await server.rows(select(TimingEvent).where(TimingEvent.kind == "accept_timeout"))
    assert (event.kind, event.agent_id, event.waited_ms) == (
        "accept_timeout",
        silent.info["agent"]["id"],
        90_000,
    )
    report = (await server.http.get("/api/v1/reports/reply-times")).json()
    by_agent = {row["employee_no"]: row for row in report["agents"]}
    assert by_agent["2001"]["reassignments"] == 1
    assert report["overall"]["reassignments"] == 1

    # The silent agent's frames for the chat are refused now.
    await silent.send(
        {"type": "message", "chat_id": customer.chat_id, "client_id": "x", "text": "在"}
    )
    await silent.until("error", code="not_your_chat", ref="x")


async def test_with_nobody_free_the_chat_goes_to_the_front_of_the_queue(server: Server) -> None:
    silent = await server.agent("甲", "2001", capacity=1)
    first = await server.customer()
    await silent.expect("assigned", chat_id=first.chat_id)
    second = await server.customer()
    await second.until("queue", position=1)
    await first.say("在吗?")

    await server.advance(90)
    await first.until("message", template="reassigned")
    await first.until("queue", position=1)
    await second.until("queue", position=2)

    # The agent is away now: they get no chat until they say they are back.
    await silent.until("status", status="away")
    await silent.quiet()
    late = await server.agent("乙", "2002", capacity=1)
    await late.expect("assigned", chat_id=first.chat_id)


async def test_an_agent_who_answers_in_time_keeps_the_chat(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.say("在吗?")
    await server.advance(89)
    await agent.say(customer.chat_id, "您好")
    await server.advance(60)
    [chat] = await server.rows(select(Chat).where(Chat.id == customer.chat_id))
    assert chat.agent_id == agent.info["agent"]["id"]
    assert await templates(server, customer.chat_id, "reassigned") == 0
    # The 89 s wait earned the long-wait apology (S-long-wait), not a reassignment.
    kinds = await server.rows(select(TimingEvent.kind))
    assert kinds == ["long_wait"]


async def test_a_hold_counts_as_the_agent_answering(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.say("在吗?")
    await hold(agent, customer.chat_id)
    await server.advance(59)
    await agent.say(customer.chat_id, "您好")
    await server.advance(100)
    assert await templates(server, customer.chat_id, "reassigned") == 0


async def test_a_customer_who_says_nothing_costs_the_agent_nothing(server: Server) -> None:
    """The silent-agent clock counts from the customer's first unanswered message."""
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await server.advance(600)
    await agent.quiet_for("unassigned")
    [chat] = await server.rows(select(Chat).where(Chat.id == customer.chat_id))
    assert chat.agent_id == agent.info["agent"]["id"]
    assert await server.rows(select(TimingEvent)) == []

    await customer.say("在吗?")
    await server.advance(89)
    await agent.quiet_for("unassigned")
    await server.advance(1)
    await agent.until("unassigned", chat_id=customer.chat_id, reason="accept_timeout")
    [event] = await server.rows(select(TimingEvent).where(TimingEvent.kind == "accept_timeout"))
    assert event.waited_ms == 90_000  # from the message, not from the assignment

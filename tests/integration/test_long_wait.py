"""S-long-wait, S-max-wait: a customer left a minute without an answer gets the apology, once."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Message
from tests.support.server import Agent, Customer, Server

APOLOGY = "非常抱歉,由于业务量较大让您久等了,给您带来不便敬请谅解!"


async def templates(server: Server, chat_id: int, key: str) -> int:
    """How many times the template ``key`` was stored in the chat."""
    query = select(Message.id).where(Message.chat_id == chat_id, Message.template == key)
    return len(await server.rows(query))


async def served(server: Server) -> tuple[Agent, Customer]:
    """A chat whose agent has greeted the customer (so the silent-agent clock is stopped)."""
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "您好,请问有什么可以帮您?")
    return agent, customer


async def test_apology_sent_once_per_wait(server: Server) -> None:
    agent, customer = await served(server)
    asked = await customer.say("充值没到账")
    assert await server.advance(59) == 0

    assert await server.advance(1) == 1
    apology = await customer.until("message", template="long_wait")
    assert apology["text"] == APOLOGY
    assert apology["seq"] == asked["seq"] + 1
    await agent.until("message", template="long_wait")
    timing = await agent.expect("timing", chat_id=customer.chat_id)
    assert timing["waited_s"] == 60
    stored = await agent_view(server, customer.chat_id, asked["seq"])
    assert timing["waiting_since"] == stored["at"]

    # More messages in the same wait, and a long time: still one apology.
    await customer.say("还在吗?")
    await server.advance(60)
    await server.advance(200)
    assert await templates(server, customer.chat_id, "long_wait") == 1


async def test_no_apology_when_the_agent_answers_at_59_s(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("充值没到账")
    await server.advance(59)
    await agent.say(customer.chat_id, "我帮您查一下")
    await server.advance(120)
    assert await templates(server, customer.chat_id, "long_wait") == 0


async def test_a_new_wait_gets_a_new_apology(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("充值没到账")
    await server.advance(60)
    await agent.say(customer.chat_id, "我帮您查一下")
    assert await templates(server, customer.chat_id, "long_wait") == 1

    await customer.say("查到了吗?")  # the agent answered: this starts a new wait
    await server.advance(59)
    assert await templates(server, customer.chat_id, "long_wait") == 1
    await server.advance(1)
    assert await templates(server, customer.chat_id, "long_wait") == 2


async def test_the_wait_runs_from_the_first_unanswered_message(server: Server) -> None:
    _, customer = await served(server)
    await customer.say("在吗")
    await server.advance(40)
    await customer.say("人呢?")  # the same wait: the clock does not restart
    await server.advance(20)
    assert await templates(server, customer.chat_id, "long_wait") == 1


async def test_a_queued_customer_is_apologised_to_as_well(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue", position=1)
    await customer.say("有人吗")
    await server.advance(60)
    apology = await customer.until("message", template="long_wait")
    assert apology["text"] == APOLOGY

    # The agent who takes the chat later sees how long the customer has been waiting.
    agent = await server.agent()
    assigned = await agent.expect("assigned", chat_id=customer.chat_id)
    assert assigned["waiting_since"] is not None
    assert [m.get("template") for m in assigned["history"]][-1] == "long_wait"


async def test_a_customer_who_has_said_nothing_is_not_waiting(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue", position=1)
    await server.advance(600)
    assert await templates(server, customer.chat_id, "long_wait") == 0


async def agent_view(server: Server, chat_id: int, seq: int) -> dict[str, str]:
    detail = (await server.http.get(f"/api/v1/chats/{chat_id}")).json()
    [message] = [m for m in detail["messages"] if m["seq"] == seq]
    return dict(message)

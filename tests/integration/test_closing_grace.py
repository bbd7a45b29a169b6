"""S-customer-ends, S-anything-else: the agent's close asks once more and lets the customer end."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.clock import ManualClock
from tests.integration.test_idle import status_of
from tests.integration.test_long_wait import served, templates
from tests.support.server import Agent, Customer, Server, running_server
from tests.support.server import test_settings as settings_for

ANYTHING_ELSE = "请问,还有其它问题吗?"


async def close(agent: Agent, customer: Customer) -> None:
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await agent.until("closing", chat_id=customer.chat_id)


async def test_agent_close_asks_anything_else_and_closes_after_the_grace(server: Server) -> None:
    agent = await server.agent(capacity=1)
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "已经为您处理好了")
    waiting = await server.customer()
    await waiting.until("queue", position=1)

    await agent.send({"type": "close", "chat_id": customer.chat_id})
    asked = await customer.until("message", template="anything_else")
    assert asked["text"] == ANYTHING_ELSE
    closing = await customer.expect("closing", chat_id=customer.chat_id)
    due = server.clock.now() + timedelta(seconds=30)
    assert closing["closes_at"] == due.isoformat().replace("+00:00", "Z")
    await agent.until("closing", chat_id=customer.chat_id)

    # During the grace the chat keeps its seat: the waiting customer is not served yet.
    assert await server.advance(29) == 0
    assert await status_of(server, customer.chat_id) == ("assigned", None)
    await waiting.quiet()

    assert await server.advance(1) == 1
    await customer.until("message", template="closing")
    await customer.expect("closed", by="agent")
    await agent.until("closed", chat_id=customer.chat_id, by="agent")
    await agent.until("assigned", chat_id=waiting.chat_id)


async def test_a_reply_in_the_grace_reopens_the_chat_with_the_same_agent(server: Server) -> None:
    agent, customer = await served(server)
    await close(agent, customer)
    await server.advance(20)
    await customer.say("还有一个问题,我的装备不见了")
    await customer.until("reopened", chat_id=customer.chat_id)
    got = await agent.until("message", sender="customer")
    assert got["text"] == "还有一个问题,我的装备不见了"
    await agent.expect("reopened", chat_id=customer.chat_id)

    await server.advance(30)  # the grace would have ended here
    assert await status_of(server, customer.chat_id) == ("assigned", None)
    await agent.say(customer.chat_id, "我帮您查一下")
    await customer.until("message", sender="agent", text="我帮您查一下")

    # Answered, closed again: S-anything-else is asked again, since there was something else.
    await close(agent, customer)
    assert await templates(server, customer.chat_id, "anything_else") == 2


async def test_closing_again_after_the_customers_answer_closes_at_once(server: Server) -> None:
    agent, customer = await served(server)
    await close(agent, customer)
    await customer.say("没有了,谢谢")
    await agent.until("reopened", chat_id=customer.chat_id)

    # The customer had the last word: no second "anything else?", the chat ends now.
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await customer.until("message", template="closing")
    await customer.expect("closed", by="agent")
    assert await templates(server, customer.chat_id, "anything_else") == 1
    assert await status_of(server, customer.chat_id) == ("closed", "agent")


async def test_the_customer_may_end_the_chat_in_the_grace(server: Server) -> None:
    agent, customer = await served(server)
    await close(agent, customer)
    await customer.send({"type": "close"})
    await customer.until("closed", by="customer")
    await agent.until("closed", chat_id=customer.chat_id, by="customer")
    await server.advance(60)
    assert await templates(server, customer.chat_id, "closing") == 1


async def test_closing_a_chat_that_is_closing_is_refused(server: Server) -> None:
    agent, customer = await served(server)
    await close(agent, customer)
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    error = await agent.until("error", code="invalid_state")
    assert "closing" in error["message"]
    assert await templates(server, customer.chat_id, "anything_else") == 1


async def test_an_agent_leaving_in_the_grace_closes_the_chat(server: Server) -> None:
    agent, customer = await served(server)
    await close(agent, customer)
    await agent.send({"type": "status", "status": "offline"})
    await customer.until("message", template="closing")
    await customer.expect("closed", by="agent")
    assert await templates(server, customer.chat_id, "returned_to_queue") == 0


async def test_the_closing_grace_can_be_turned_off(database_url: str, clock: ManualClock) -> None:
    async with running_server(
        settings_for(database_url, close_grace_s=0, survey_on_close=False), clock
    ) as server:
        await closes_at_once(server)


async def closes_at_once(server: Server) -> None:
    agent, customer = await served(server)
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await customer.until("message", template="closing")
    await customer.expect("closed", by="agent")
    assert await templates(server, customer.chat_id, "anything_else") == 0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # These tests follow the closing flow itself; the S-survey that follows it has its own tests.
    return {"survey_on_close": False}

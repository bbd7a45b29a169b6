"""S-no-response: a customer who has gone silent is asked once, then the chat closes."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Chat
from tests.integration.test_hold import hold
from tests.integration.test_long_wait import served, templates
from tests.support.server import Server

PROMPT = "对不起,我们一直没有收到您的回复,本次对话稍后将自动结束,如有需要欢迎随时联系我们在线客服。"


async def status_of(server: Server, chat_id: int) -> tuple[str, str | None]:
    [chat] = await server.rows(select(Chat).where(Chat.id == chat_id))
    return chat.status, chat.closed_by


async def test_idle_customer_is_prompted_then_closed(server: Server) -> None:
    agent, customer = await served(server)  # the agent spoke at t=0
    assert await server.advance(299) == 0
    assert await server.advance(1) == 1
    prompt = await customer.until("message", template="no_response")
    assert prompt["text"] == PROMPT
    await agent.until("message", template="no_response")

    assert await server.advance(119) == 0
    assert await server.advance(1) == 1
    await customer.until("message", template="closing")
    await customer.expect("closed", by="idle")
    await agent.until("closed", chat_id=customer.chat_id, by="idle")
    assert await status_of(server, customer.chat_id) == ("closed", "idle")


async def test_an_answer_to_the_prompt_keeps_the_chat_open(server: Server) -> None:
    _, customer = await served(server)
    await server.advance(300)
    await customer.until("message", template="no_response")
    await customer.say("在的,刚才走开了")
    await server.advance(120)
    assert await status_of(server, customer.chat_id) == ("assigned", None)


async def test_the_idle_clock_restarts_at_the_agents_last_word(server: Server) -> None:
    agent, customer = await served(server)
    await server.advance(200)
    await agent.say(customer.chat_id, "请问您还需要什么帮助吗?")
    await server.advance(200)
    assert await templates(server, customer.chat_id, "no_response") == 0
    await server.advance(100)
    assert await templates(server, customer.chat_id, "no_response") == 1


async def test_a_customer_waiting_for_the_agent_is_not_idle(server: Server) -> None:
    _, customer = await served(server)
    await customer.say("帮我查一下")
    await server.advance(600)
    assert await templates(server, customer.chat_id, "no_response") == 0
    assert await status_of(server, customer.chat_id) == ("assigned", None)


async def test_a_customer_on_hold_is_not_idle(server: Server) -> None:
    agent, customer = await served(server)
    await hold(agent, customer.chat_id)
    await server.advance(600)
    assert await templates(server, customer.chat_id, "no_response") == 0

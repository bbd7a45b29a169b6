"""S-hold, S-hold-back, S-max-wait: a hold is a promise to come back within a minute."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Reply
from tests.integration.test_long_wait import served, templates
from tests.support.server import Agent, Server

HOLD = "请您稍等!"
HOLD_BACK = "很抱歉让您久等了!"


async def hold(agent: Agent, chat_id: int) -> None:
    await agent.send({"type": "hold", "chat_id": chat_id})
    await agent.until("message", chat_id=chat_id, template="hold")


async def test_hold_expiry_apologises_reminds_and_acknowledges_the_return(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("帮我查一下订单")
    await hold(agent, customer.chat_id)
    assert (await customer.until("message", template="hold"))["text"] == HOLD

    # The hold's clock replaces the wait's: nothing at 59 s (not even the long-wait apology).
    assert await server.advance(59) == 0
    assert await server.advance(1) == 1
    await customer.until("message", template="long_wait")
    reminder = await agent.until("reminder", chat_id=customer.chat_id)
    assert reminder["reason"] == "hold_expired"
    assert reminder["held_s"] == 60

    # The agent's next message is preceded by the acknowledgement.
    await agent.say(customer.chat_id, "查到了,订单已补发")
    back = await customer.until("message", template="hold_back")
    assert back["text"] == HOLD_BACK
    reply = await customer.expect("message", sender="agent")
    assert reply["seq"] == back["seq"] + 1
    assert await templates(server, customer.chat_id, "long_wait") == 1

    # The reply's wait counts the whole hold: from the customer's question to the answer.
    [stored] = await server.rows(select(Reply.wait_ms).where(Reply.chat_id == customer.chat_id))
    assert stored == 60_000


async def test_back_within_the_hold_sends_no_apology(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("帮我查一下订单")
    await hold(agent, customer.chat_id)
    await server.advance(30)
    await agent.say(customer.chat_id, "查到了")
    await server.advance(120)
    assert await templates(server, customer.chat_id, "long_wait") == 0
    assert await templates(server, customer.chat_id, "hold_back") == 0


async def test_the_agent_may_acknowledge_an_unexpired_hold(server: Server) -> None:
    agent, customer = await served(server)
    await hold(agent, customer.chat_id)
    await server.advance(30)
    await agent.send(
        {
            "type": "message",
            "chat_id": customer.chat_id,
            "client_id": "back",
            "text": "查到了",
            "hold_back": True,
        }
    )
    await customer.until("message", template="hold_back")
    await customer.expect("message", sender="agent", client_id="back")


async def test_the_agent_may_decline_the_acknowledgement(server: Server) -> None:
    agent, customer = await served(server)
    await hold(agent, customer.chat_id)
    await server.advance(60)
    await agent.until("reminder")
    frame = {"type": "message", "chat_id": customer.chat_id, "client_id": "b", "text": "好了"}
    await agent.send({**frame, "hold_back": False})
    await agent.until("ack", client_id="b")
    assert await templates(server, customer.chat_id, "hold_back") == 0


async def test_a_hold_can_be_renewed(server: Server) -> None:
    agent, customer = await served(server)
    await hold(agent, customer.chat_id)
    await server.advance(50)
    await hold(agent, customer.chat_id)  # a word to the customer: the minute starts again
    await server.advance(50)
    assert await templates(server, customer.chat_id, "long_wait") == 0
    await server.advance(10)
    assert await templates(server, customer.chat_id, "long_wait") == 1


async def test_hold_is_refused_on_a_chat_that_is_not_yours_or_closing(server: Server) -> None:
    agent, customer = await served(server)
    await agent.send({"type": "hold", "chat_id": 999})
    await agent.until("error", code="not_your_chat")
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await agent.until("closing", chat_id=customer.chat_id)
    await agent.send({"type": "hold", "chat_id": customer.chat_id})
    await agent.expect("error", code="invalid_state")
    assert await templates(server, customer.chat_id, "hold") == 0


async def test_a_hold_cut_short_by_the_agent_leaving_still_gets_the_apology(
    server: Server,
) -> None:
    agent, customer = await served(server)
    await customer.say("帮我查一下订单")  # t=0: the wait starts
    server.clock.advance(10)
    await hold(agent, customer.chat_id)  # t=10: a word to the customer
    server.clock.advance(10)
    await agent.send({"type": "status", "status": "offline"})  # t=20: back to the queue
    await customer.until("message", template="returned_to_queue")

    # The wait's clock runs again from the hold's word: the apology is due at t=70.
    assert await server.advance(49) == 0
    await server.advance(1)
    await customer.until("message", template="long_wait")
    assert await templates(server, customer.chat_id, "long_wait") == 1

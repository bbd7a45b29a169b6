"""Nothing acknowledged is lost and nothing is doubled: resends, resumes, grace periods."""

from __future__ import annotations

from sqlalchemy import func, select

from service.db.models import Message
from tests.support.server import Server


async def stored_messages(server: Server, chat_id: int) -> int:
    async with server.runtime.units.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Message).where(Message.chat_id == chat_id)
        )
    return count or 0


async def test_resent_message_is_acked_again_but_stored_once(server: Server) -> None:
    customer = await server.customer()
    first = await customer.say("充值没到账", client_id="m-1")
    again = await customer.say("充值没到账", client_id="m-1")
    assert first["seq"] == again["seq"] == 3
    assert await stored_messages(server, customer.chat_id) == 3  # welcome, nobody online, one

    agent = await server.agent()
    await agent.expect("assigned", chat_id=customer.chat_id)
    one = await agent.say(customer.chat_id, "您好", client_id="r-1")
    two = await agent.say(customer.chat_id, "您好", client_id="r-1")
    assert one["seq"] == two["seq"] == 4
    assert await stored_messages(server, customer.chat_id) == 4


async def test_customer_resume_gets_exactly_the_missed_messages(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.say("在吗")
    await customer.until("message", seq=2)
    await server.leave(customer)
    left = await agent.until("message", seq=2)
    assert left["text"] == "在吗"

    for text in ("在的", "请问有什么问题?", "您还在吗?"):
        await agent.say(customer.chat_id, text)

    back = await server.customer(resume={"token": customer.token, "last_seq": 2})
    assert back.chat_id == customer.chat_id
    missed = [await back.expect("message") for _ in range(3)]
    assert [m["seq"] for m in missed] == [3, 4, 5]
    assert [m["text"] for m in missed] == ["在的", "请问有什么问题?", "您还在吗?"]
    await back.quiet()

    # Live traffic continues after the replay, without a gap or a repeat.
    await agent.say(customer.chat_id, "好的")
    await back.expect("message", seq=6)
    await back.quiet()


async def test_resume_after_seeing_everything_replays_nothing(server: Server) -> None:
    customer = await server.customer()
    await customer.expect("message", seq=1)
    await customer.expect("message", seq=2, template="nobody_online")
    await customer.close()
    back = await server.customer(resume={"token": customer.token, "last_seq": 2})
    await back.quiet()


async def test_ready_tells_where_the_chat_stands(server: Server) -> None:
    customer = await server.customer()
    await customer.close()
    queued = await server.customer(ready=False, resume={"token": customer.token, "last_seq": 1})
    frame = await queued.expect("ready", chat_id=customer.chat_id, status="queued", position=1)
    assert frame["seq"] == 2  # welcome, nobody online
    await queued.close()

    agent = await server.agent("小李", "3001")
    await agent.expect("assigned", chat_id=customer.chat_id)
    again = await server.customer(ready=False, resume={"token": customer.token, "last_seq": 1})
    frame = await again.expect("ready", status="assigned")
    assert frame["agent"] == {"name": "小李", "employee_no": "3001"}
    assert "position" not in frame


async def test_unknown_resume_token_is_refused(server: Server) -> None:
    peer = await server.customer(ready=False, resume={"token": "kfr_forged", "last_seq": 0})
    assert await peer.closed_with() == 4403


async def test_agent_resume_within_grace_keeps_chats(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "您好")
    await server.leave(agent)
    await customer.say("我还在等")

    await server.advance(30)  # within the 60 s grace
    back = await server.agent_socket(agent.info["token"], resume={str(customer.chat_id): 2})
    assert [c["chat_id"] for c in back.info["chats"]] == [customer.chat_id]
    missed = await back.expect("message", chat_id=customer.chat_id)
    assert (missed["seq"], missed["text"]) == (3, "我还在等")
    await back.quiet()

    await server.advance(60)  # past the first grace: it was cancelled by the reconnect
    await back.say(customer.chat_id, "在的", client_id="back-1")
    await customer.until("message", sender="agent", text="在的")


async def test_agent_gone_past_grace_returns_chats_to_the_front(server: Server) -> None:
    leaving = await server.agent("甲", "2001", capacity=1)
    mine = await server.customer()
    await leaving.expect("assigned", chat_id=mine.chat_id)
    await mine.until("assigned")
    waiting = await server.customer()
    await waiting.until("queue", position=1)
    await server.leave(leaving)

    assert await server.advance(59) == 0
    await mine.quiet()
    assert await server.advance(2) == 1
    await mine.until("message", template="returned_to_queue")
    await mine.until("queue", position=1)
    await waiting.until("queue", position=2)

    agents = (await server.http.get("/api/v1/agents")).json()
    assert agents[0]["status"] == "offline"

    back = await server.agent_socket(leaving.info["token"])
    assert back.info["chats"] == []
    await back.expect("assigned", chat_id=mine.chat_id)


async def test_customer_gone_past_grace_closes_the_chat(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "您好")
    await server.leave(customer)
    await server.advance(server.runtime.settings.customer_grace_s + 1)
    await agent.until("closed", chat_id=customer.chat_id, by="system")

    # Resuming a closed chat still replays what was missed, then says it is closed.
    back = await server.customer(resume={"token": customer.token, "last_seq": 0})
    await back.expect("message", seq=1, template="welcome")
    await back.expect("message", seq=2, sender="agent")
    await back.expect("closed", by="system")
    await back.send({"type": "message", "client_id": "late", "text": "还在吗"})
    error = await back.expect("error", code="invalid_state", ref="late")
    assert "closed" in error["message"]


async def test_resend_after_close_is_still_acknowledged(server: Server) -> None:
    customer = await server.customer()
    first = await customer.say("最后一句", client_id="last")
    await customer.send({"type": "close"})
    await customer.until("closed")
    again = await customer.say("最后一句", client_id="last")
    assert again["seq"] == first["seq"]


async def test_two_agents_may_use_the_same_client_ids(server: Server) -> None:
    first = await server.agent("甲", "2001")
    customer = await server.customer()
    await first.expect("assigned", chat_id=customer.chat_id)
    one = await first.say(customer.chat_id, "甲说", client_id="a1")
    await first.send({"type": "status", "status": "offline"})
    # Off before the second agent comes: the chat waits with nobody online (and is told so).
    await first.until("status", status="offline")
    second = await server.agent("乙", "2002")
    await second.expect("assigned", chat_id=customer.chat_id)
    two = await second.say(customer.chat_id, "乙说", client_id="a1")
    assert two["seq"] > one["seq"]
    # welcome, 甲, returned to the queue, nobody online, 乙
    assert await stored_messages(server, customer.chat_id) == 5

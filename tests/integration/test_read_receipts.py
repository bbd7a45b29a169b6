"""Read receipts: each side's last read seq, told to the other side, kept across reconnects."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from service.db.models import Chat
from tests.support.server import TIMEOUT, Agent, Customer, Server


async def served(server: Server) -> tuple[Customer, Agent]:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    return customer, agent


async def read_seqs(server: Server, chat_id: int) -> tuple[int, int]:
    [chat] = await server.rows(select(Chat).where(Chat.id == chat_id))
    return chat.customer_read_seq, chat.agent_read_seq


async def test_agent_reading_tells_the_customer_and_is_stored(server: Server) -> None:
    customer, agent = await served(server)
    ack = await customer.say("充值没到账")
    await agent.until("message", seq=ack["seq"])

    await agent.send({"type": "read", "chat_id": customer.chat_id, "seq": ack["seq"]})
    read = await customer.until("read")
    assert read == {"type": "read", "chat_id": customer.chat_id, "by": "agent", "seq": ack["seq"]}
    assert await read_seqs(server, customer.chat_id) == (0, ack["seq"])


async def test_customer_reading_tells_the_agent(server: Server) -> None:
    customer, agent = await served(server)
    reply = await agent.say(customer.chat_id, "您好,请问订单号是多少?")
    await customer.until("message", seq=reply["seq"])

    await customer.send({"type": "read", "seq": reply["seq"]})
    read = await agent.until("read")
    assert read == {
        "type": "read",
        "chat_id": customer.chat_id,
        "by": "customer",
        "seq": reply["seq"],
    }
    assert await read_seqs(server, customer.chat_id) == (reply["seq"], 0)


async def test_a_lower_or_equal_read_changes_nothing_and_tells_nobody(server: Server) -> None:
    customer, agent = await served(server)
    await agent.say(customer.chat_id, "一")
    two = await agent.say(customer.chat_id, "二")
    await customer.until("message", seq=two["seq"])
    await customer.send({"type": "read", "seq": two["seq"]})
    await agent.until("read", seq=two["seq"])

    for seq in (two["seq"] - 1, two["seq"]):
        await customer.send({"type": "read", "seq": seq})
    await agent.quiet_for("read")
    assert await read_seqs(server, customer.chat_id) == (two["seq"], 0)


async def test_reading_past_the_last_message_is_refused(server: Server) -> None:
    customer, agent = await served(server)
    await customer.send({"type": "read", "seq": 99})
    error = await customer.until("error")
    assert error["code"] == "invalid_range"
    await agent.send({"type": "read", "chat_id": customer.chat_id, "seq": 99})
    assert (await agent.until("error"))["code"] == "invalid_range"
    assert await read_seqs(server, customer.chat_id) == (0, 0)


async def test_reading_someone_elses_chat_is_refused(server: Server) -> None:
    customer, _agent = await served(server)
    other = await server.agent("小李", status="away")
    await other.send({"type": "read", "chat_id": customer.chat_id, "seq": 1})
    assert (await other.until("error"))["code"] == "not_your_chat"
    # A customer socket speaks for its own chat only.
    await customer.send({"type": "read", "chat_id": customer.chat_id + 1, "seq": 1})
    assert (await customer.until("error"))["code"] == "not_your_chat"
    assert await read_seqs(server, customer.chat_id) == (0, 0)


async def test_ticks_are_replayed_on_resume_and_on_ready(server: Server) -> None:
    customer, agent = await served(server)
    ack = await customer.say("在吗")
    reply = await agent.say(customer.chat_id, "在的")
    await agent.send({"type": "read", "chat_id": customer.chat_id, "seq": ack["seq"]})
    await customer.until("read", by="agent")
    await customer.send({"type": "read", "seq": reply["seq"]})
    await agent.until("read", by="customer")

    back = await server.customer(ready=False, resume={"token": customer.token, "last_seq": 0})
    ready = await back.expect("ready")
    assert ready["read"] == {"customer": reply["seq"], "agent": ack["seq"]}

    again = await server.agent_socket(agent.info["token"])
    [chat] = again.info["chats"]
    assert chat["read"] == {"customer": reply["seq"], "agent": ack["seq"]}


async def test_reads_join_the_writers_batches(server: Server) -> None:
    """Cheap: reads of many sockets at once are written in a few transactions, not one each."""
    customers = [await server.customer() for _ in range(30)]
    before = server.runtime.writer.stats.batches
    await asyncio.gather(*(c.send({"type": "read", "seq": 1}) for c in customers))
    ids = [c.chat_id for c in customers]
    deadline = time.monotonic() + TIMEOUT
    while await server.rows(
        select(Chat.id).where(Chat.id.in_(ids), Chat.customer_read_seq == 1).order_by(Chat.id)
    ) != sorted(ids):
        assert time.monotonic() < deadline, "the reads were not all stored"
        await asyncio.sleep(0.01)
    # Through the writer (not units of their own), and several to a transaction.
    assert 0 < server.runtime.writer.stats.batches - before < len(customers)

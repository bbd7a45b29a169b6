"""Two processes' worth of kefu on one PostgreSQL database and one Redis: every process is equal."""

from __future__ import annotations

import uuid

from service.realtime.bus import Envelope, RedisBus
from tests.support.server import Server


async def test_redis_bus_moves_envelopes_between_instances(redis_url: str) -> None:
    channel = f"kefu.test.{uuid.uuid4().hex}"
    sender, receiver = RedisBus(redis_url, channel), RedisBus(redis_url, channel)
    await receiver.connect()
    await sender.connect()
    try:
        sent = Envelope(("customer:1", "agent:2"), {"type": "typing", "text": "你好"})
        await sender.publish(sent)
        assert await receiver.next_published() == sent
    finally:
        await sender.disconnect()
        await receiver.disconnect()


async def test_customer_and_agent_on_different_processes(
    server_pair: tuple[Server, Server],
) -> None:
    await _converse(*server_pair)


async def _converse(one: Server, two: Server) -> None:
    customer = await one.customer()
    await customer.expect("message", template="welcome")
    agent = await two.agent("远程", "5001")
    await agent.until("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")

    await customer.say("跨进程能收到吗?")
    got = await agent.until("message", sender="customer")
    assert got["text"] == "跨进程能收到吗?"
    await agent.say(customer.chat_id, "收到了")
    reply = await customer.until("message", sender="agent")
    assert reply["text"] == "收到了"
    await customer.quiet()

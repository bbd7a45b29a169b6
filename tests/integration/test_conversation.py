"""A whole support chat over real sockets: welcome, queue, assignment, both ways, close."""

from __future__ import annotations

from tests.support.server import Server

WELCOME = "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?"
ANYTHING_ELSE = "请问,还有其它问题吗?"
SURVEY = "请问您对我的服务态度在0到10分之间会打几分?"
CLOSING = "非常感谢您对3yx的支持和关注,有问题随时联系我们在线客服,我们24小时竭诚为您服务,祝您愉快!"


async def test_full_conversation(server: Server) -> None:
    # S-welcome: answered at once, before any agent is online.
    customer = await server.customer()
    welcome = await customer.expect("message", sender="system", template="welcome", seq=1)
    assert welcome["text"] == WELCOME
    # S-callback-24h: nobody is online, and the customer hears so at once.
    await customer.expect("message", sender="system", template="nobody_online", seq=2)
    await customer.expect("queue", position=1)

    ack = await customer.say("我的账号登录不上")
    assert ack == {"type": "ack", "client_id": "c1", "seq": 3}
    await customer.until("message", seq=3, sender="customer")

    agent = await server.agent("小王", "1001")
    assigned = await agent.expect("assigned", chat_id=customer.chat_id)
    assert [m["seq"] for m in assigned["history"]] == [1, 2, 3]
    assert assigned["history"][2]["text"] == "我的账号登录不上"
    assert (await customer.expect("assigned"))["agent"] == {"name": "小王", "employee_no": "1001"}

    reply = await agent.say(customer.chat_id, "请问您的账号是多少?")
    assert reply["seq"] == 4
    got = await customer.expect("message", seq=4, sender="agent")
    assert got["text"] == "请问您的账号是多少?"
    assert got["agent"] == {"name": "小王", "employee_no": "1001"}

    await customer.say("abc123")
    assert (await agent.until("message", seq=5))["text"] == "abc123"

    # S-customer-ends: the agent's close asks once more and leaves a grace to answer.
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    asked = await customer.until("message", template="anything_else")
    assert (asked["seq"], asked["text"]) == (6, ANYTHING_ELSE)
    await customer.expect("closing", chat_id=customer.chat_id)
    await server.advance(server.runtime.settings.close_grace_s)
    closing = await customer.until("message", template="closing")
    assert closing["text"] == CLOSING
    assert closing["seq"] == 7
    # S-survey: asked after the closing template, before the chat is closed.
    survey = await customer.expect("message", template="survey", seq=8)
    assert survey["text"] == SURVEY
    await customer.expect("closed", by="agent")
    await agent.until("closed", chat_id=customer.chat_id, by="agent")

    response = await server.http.get(f"/api/v1/chats/{customer.chat_id}")
    stored = response.json()
    assert stored["status"] == "closed"
    assert [(m["seq"], m["sender"]) for m in stored["messages"]] == [
        (1, "system"),
        (2, "system"),
        (3, "customer"),
        (4, "agent"),
        (5, "customer"),
        (6, "system"),
        (7, "system"),
        (8, "system"),
    ]


async def test_customer_close_ends_chat_and_frees_the_agent(server: Server) -> None:
    agent = await server.agent(capacity=1)
    first = await server.customer()
    await agent.expect("assigned", chat_id=first.chat_id)
    second = await server.customer()
    await second.until("queue", position=1)

    await first.send({"type": "close"})
    await first.until("closed", by="customer")
    await agent.until("closed", chat_id=first.chat_id, by="customer")
    # The freed seat pulls the next chat at once.
    await agent.until("assigned", chat_id=second.chat_id)
    await second.until("assigned")


async def test_health_and_metrics_describe_the_desk(server: Server) -> None:
    assert (await server.http.get("/healthz")).json() == {"status": "ok"}
    assert (await server.http.get("/readyz")).json()["database"] == "up"
    agent = await server.agent(capacity=1)
    first = await server.customer()
    await agent.expect("assigned", chat_id=first.chat_id)
    await server.customer()
    server.clock.advance(42)

    text = (await server.http.get("/metrics")).text
    assert 'kefu_chats{status="queued"} 1.0' in text
    assert 'kefu_chats{status="assigned"} 1.0' in text
    assert 'kefu_agents{status="online"} 1.0' in text
    assert "kefu_queue_longest_wait_seconds 42.0" in text
    assert 'kefu_sockets{audience="customer"} 2.0' in text

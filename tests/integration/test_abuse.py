"""S-abuse: warn once, end the chat if it goes on, flag the customer, tell the agent."""

from __future__ import annotations

from tests.integration.test_forbidden_phrases import served
from tests.support.server import Server

WARNING = "请您使用文明语言,否则很抱歉,我们将结束这次对话。"


async def test_abuse_gets_one_warning_then_ends_the_chat(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("你是白 痴吗")
    warning = await customer.until("message", template="abuse_warning")
    assert (warning["text"], warning["sender"]) == (WARNING, "system")
    await agent.until("message", template="abuse_warning")

    # Ordinary words after the warning change nothing.
    await customer.say("我就是着急")
    await agent.until("message", text="我就是着急")

    await customer.say("垃圾客服")
    await customer.until("closed", by="abuse")
    closed = await agent.until("closed", chat_id=customer.chat_id)
    assert closed["by"] == "abuse"
    # The abusive line stays in the record; no closing template was sent.
    chat = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert chat["closed_by"] == "abuse"
    assert chat["customer"]["flagged"] is True
    assert chat["messages"][-1]["text"] == "垃圾客服"
    assert [m.get("template") for m in chat["messages"]].count("abuse_warning") == 1


async def test_a_flagged_player_is_shown_flagged_in_the_next_chat(server: Server) -> None:
    player = server.player("p-1", "李雷")
    agent = await server.agent()
    first = await server.customer(player=player)
    assigned = await agent.expect("assigned", chat_id=first.chat_id)
    assert assigned["customer"]["flagged"] is False
    await first.say("fuck")
    await first.until("message", template="abuse_warning")
    await first.say("FUCKING idiot")
    await first.until("closed", by="abuse")

    again = await server.customer(player=server.player("p-1", "李雷"))
    assigned = await agent.until("assigned", chat_id=again.chat_id)
    assert assigned["customer"]["flagged"] is True


async def test_an_agent_may_end_an_abusive_chat_only_after_the_warning(server: Server) -> None:
    agent, customer = await served(server)
    await agent.send({"type": "close", "chat_id": customer.chat_id, "reason": "abuse"})
    error = await agent.expect("error", code="invalid_state")
    assert "warn" in error["message"]
    await customer.quiet()

    await agent.send({"type": "template", "chat_id": customer.chat_id, "key": "abuse_warning"})
    warning = await customer.until("message", template="abuse_warning")
    assert warning["sender"] == "agent"
    await agent.send({"type": "close", "chat_id": customer.chat_id, "reason": "abuse"})
    await customer.expect("closed", by="abuse")  # cut off at once: no closing template
    await agent.until("closed", chat_id=customer.chat_id, by="abuse")
    chat = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert chat["customer"]["flagged"] is True


async def test_abuse_in_the_queue_is_handled_the_same(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue")
    await customer.say("you moron")
    await customer.until("message", template="abuse_warning")
    behind = await server.customer()
    await behind.until("queue", position=2)
    await customer.say("SHUT UP")
    await customer.until("closed", by="abuse")
    await behind.until("queue", position=1)


async def test_admins_list_flagged_customers_and_clear_a_flag(server: Server) -> None:
    _agent, customer = await served(server)
    await customer.say("傻逼")
    await customer.until("message", template="abuse_warning")
    await customer.say("傻逼")
    await customer.until("closed", by="abuse")
    page = (await server.http.get("/api/v1/customers", params={"flagged": "true"})).json()
    [flagged] = page["items"]
    assert (flagged["flagged"], flagged["flag_reason"]) == (True, "abuse")

    cleared = await server.http.patch(f"/api/v1/customers/{flagged['id']}", json={"flagged": False})
    assert cleared.json()["flagged"] is False
    assert (await server.http.get("/api/v1/customers", params={"flagged": "true"})).json()[
        "total"
    ] == 0
    missing = await server.http.patch("/api/v1/customers/999", json={"flagged": False})
    assert missing.status_code == 404
    bad = await server.http.patch(
        f"/api/v1/customers/{flagged['id']}", json={"flagged": True, "reason": "rude"}
    )
    assert bad.status_code == 422


async def test_player_spellings_of_abuse_are_abuse(server: Server) -> None:
    """Abbreviations, leetspeak, homophones and pinyin: warned once, then the chat ends."""
    for first, second in (("nmsl", "1d10t"), ("傻比", "sha bi")):
        agent, customer = await served(server)
        await customer.say(first)
        await customer.until("message", template="abuse_warning")
        await customer.say(second)
        await customer.until("closed", by="abuse")
        await agent.until("closed", chat_id=customer.chat_id)


async def test_ordinary_words_that_sound_or_look_alike_are_not_abuse(server: Server) -> None:
    agent, customer = await served(server)
    for text in ("USB 接口坏了", "白吃白喝的活动什么时候开始", "my classmate said so"):
        await customer.say(text)
        await agent.until("message", text=text)
    chat = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert [m.get("template") for m in chat["messages"]].count("abuse_warning") == 0
    assert chat["closed_by"] is None

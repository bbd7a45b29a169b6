"""Quick replies, suggestions, corrections (S-correction) and internal notes (S-privacy)."""

from __future__ import annotations

from tests.integration.test_forbidden_phrases import served
from tests.support.server import Server

CORRECTION = "非常抱歉由于我的失误,导致信息发送错误,请您谅解!"


async def test_ready_lists_the_quick_replies_with_the_values_an_agent_gives(
    server: Server,
) -> None:
    agent = await server.agent()
    replies = {entry["key"]: entry for entry in agent.info["templates"]}
    assert replies["callback"] == {"key": "callback", "standard": "S-callback", "vars": ["time"]}
    assert replies["opening"]["vars"] == []  # name and employee number are filled in
    assert "welcome" not in replies


async def test_quick_reply_is_rendered_in_the_chat_locale_and_said_by_the_agent(
    server: Server,
) -> None:
    agent = await server.agent("Wang Fang", "1001")
    customer = await server.customer(locale="en")
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.send(
        {"type": "template", "chat_id": customer.chat_id, "key": "opening", "client_id": "o1"}
    )
    ack = await agent.until("ack", client_id="o1")
    got = await customer.until("message", seq=ack["seq"])
    assert got["text"].startswith("Hello! My name is Wang Fang, employee number 1001.")
    assert (got["sender"], got["template"]) == ("agent", "opening")
    assert got["agent"] == {"name": "Wang Fang", "employee_no": "1001"}

    await agent.send(
        {
            "type": "promise",
            "chat_id": customer.chat_id,
            "kind": "callback",
            "due_at": "2026-01-05T18:00:00+08:00",
        }
    )
    callback = await customer.until("message", template="callback")
    # S-callback: the promised time, written in desk time (KEFU_TIMEZONE).
    assert callback["text"].startswith("I will get back to you by 2026-01-05 18:00.")


async def test_bad_quick_replies_are_refused(server: Server) -> None:
    agent, customer = await served(server)
    chat_id = customer.chat_id
    for frame, code in (
        ({"key": "welcome"}, "unknown_template"),
        ({"key": "nonsense"}, "unknown_template"),
        ({"key": "callback"}, "invalid_template"),  # {time} missing
        ({"key": "callback", "vars": {"time": "6pm", "when": "x"}}, "invalid_template"),
        ({"key": "opening", "vars": {"agent_name": "冒名"}}, "invalid_template"),
    ):
        await agent.send({"type": "template", "chat_id": chat_id, "client_id": "q", **frame})
        await agent.expect("error", code=code, ref="q")
    await agent.send({"type": "template", "chat_id": 999, "key": "opening"})
    await agent.expect("error", code="not_your_chat")
    await customer.quiet()


async def test_slow_reply_and_stability_complaints_suggest_the_standard_answer(
    server: Server,
) -> None:
    agent, customer = await served(server)
    ack = await customer.say("你们回复 太慢了吧")
    suggestion = await agent.until("suggest", chat_id=customer.chat_id)
    assert suggestion == {
        "type": "suggest",
        "chat_id": customer.chat_id,
        "seq": ack["seq"],
        "key": "slow_reply",
        "standard": "S-slow-reply",
        "text": suggestion["text"],
    }
    assert suggestion["text"].startswith("非常感谢您给我们提出的建议")

    await customer.say("游戏老是掉線")
    assert (await agent.until("suggest"))["key"] == "stability"
    await customer.say("好的谢谢")
    await agent.until("message", text="好的谢谢")
    await agent.quiet()  # no suggestion for an ordinary message


async def test_correction_sends_the_apology_and_the_right_text_and_keeps_both(
    server: Server,
) -> None:
    agent, customer = await served(server)
    wrong = await agent.say(customer.chat_id, "您的订单号是 2026010312354")
    await customer.until("message", seq=wrong["seq"])
    await agent.send(
        {
            "type": "correct",
            "chat_id": customer.chat_id,
            "seq": wrong["seq"],
            "text": "您的订单号是 2026010312345",
            "client_id": "fix-1",
        }
    )
    ack = await agent.until("ack", client_id="fix-1")
    apology = await customer.expect("message", seq=wrong["seq"] + 1)
    assert (apology["text"], apology["template"]) == (CORRECTION, "correction")
    fixed = await customer.expect("message", seq=ack["seq"])
    assert fixed["corrects"] == wrong["seq"]
    assert fixed["text"] == "您的订单号是 2026010312345"

    # A resend is acknowledged again and stores nothing.
    await agent.send(
        {
            "type": "correct",
            "chat_id": customer.chat_id,
            "seq": wrong["seq"],
            "text": "x",
            "client_id": "fix-1",
        }
    )
    assert (await agent.until("ack", client_id="fix-1"))["seq"] == ack["seq"]
    await customer.quiet()

    transcript = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    texts = [m["text"] for m in transcript["messages"]]
    assert "您的订单号是 2026010312354" in texts and "您的订单号是 2026010312345" in texts


async def test_only_ones_own_messages_can_be_corrected(server: Server) -> None:
    agent, customer = await served(server)
    said = await customer.say("我的账号是 abc")
    for seq in (said["seq"], 1, 999):  # the customer's, the welcome, none at all
        await agent.send({"type": "correct", "chat_id": customer.chat_id, "seq": seq, "text": "x"})
        await agent.until("error", code="not_your_message")
    mine = await agent.say(customer.chat_id, "好的")
    await agent.send(
        {"type": "correct", "chat_id": customer.chat_id, "seq": mine["seq"], "text": "您搞错了"}
    )
    await agent.until("error", code="forbidden_phrase")
    await customer.until("message", seq=mine["seq"])
    await customer.quiet()


async def test_note_reaches_agents_only_also_after_a_resume(server: Server) -> None:
    agent, customer = await served(server)
    await customer.say("我充值了68元没到账")
    await agent.until("message", sender="customer")
    await agent.send(
        {"type": "note", "chat_id": customer.chat_id, "text": "风控 1月2日 冻结", "client_id": "n1"}
    )
    note_ack = await agent.until("ack", client_id="n1")
    note = await agent.until("message", seq=note_ack["seq"])
    assert (note["internal"], note["kind"], note["sender"]) == (True, "note", "agent")
    # The next visible line follows the note's seq; the customer gets it without a hole.
    reply = await agent.say(customer.chat_id, "正在为您查询")
    got = await customer.until("message", sender="agent")
    assert got["seq"] == reply["seq"] == note_ack["seq"] + 1
    await customer.quiet()

    # After a resume from before the note, the replay skips it too.
    await server.leave(customer)
    await agent.send({"type": "note", "chat_id": customer.chat_id, "text": "第二条备注"})
    await agent.until("message", text="第二条备注")
    await agent.say(customer.chat_id, "查到了")
    back = await server.customer(resume={"token": customer.token, "last_seq": 0})
    replay = []
    while True:
        frame = await back.recv()
        if frame["type"] == "message":
            replay.append(frame)
            if frame["text"] == "查到了":
                break
    assert all("internal" not in m for m in replay)
    assert not any("备注" in m["text"] or "风控" in m["text"] for m in replay)
    await back.quiet()

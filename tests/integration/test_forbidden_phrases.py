"""S-forbidden-phrases over real sockets: refused before it is stored, or sent and recorded."""

from __future__ import annotations

import pytest

from tests.integration.test_reconnect import stored_messages
from tests.support.server import Agent as AgentPeer
from tests.support.server import Customer, Server


async def served(server: Server, **hello: object) -> tuple[AgentPeer, Customer]:
    agent = await server.agent(**hello)
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")
    return agent, customer


async def report(server: Server) -> list[dict[str, object]]:
    response = await server.http.get("/api/v1/reports/forbidden-phrases")
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_taboo_phrase_is_refused_with_its_replacement_and_never_stored(
    server: Server,
) -> None:
    agent, customer = await served(server)
    before = await stored_messages(server, customer.chat_id)
    text = "这个问题您 搞 錯 了!"  # spaced out, in traditional characters
    await agent.send(
        {"type": "message", "chat_id": customer.chat_id, "client_id": "t1", "text": text}
    )
    error = await agent.expect("error", code="forbidden_phrase", ref="t1")
    assert error["phrase"] == "您搞错了"
    assert error["suggestion"] == "我觉得我们的沟通存在误解"
    await customer.quiet()
    assert await stored_messages(server, customer.chat_id) == before

    # The replacement goes through, and the refusal was counted for this agent.
    await agent.say(customer.chat_id, "我觉得我们的沟通存在误解")
    await customer.until("message", sender="agent")
    [row] = await report(server)
    assert row["agent_id"] == agent.info["agent"]["id"]
    assert (row["blocked"], row["warned"]) == (1, 0)
    assert row["phrases"] == [{"phrase": "您搞错了", "count": 1}]


async def test_bare_answer_is_refused_but_the_same_words_in_a_sentence_pass(
    server: Server,
) -> None:
    agent, customer = await served(server)
    await agent.send(
        {"type": "message", "chat_id": customer.chat_id, "client_id": "b1", "text": "不知道。"}
    )
    error = await agent.expect("error", code="forbidden_phrase", ref="b1")
    assert error["suggestion"].startswith("对不起,您询问的问题我暂时无法确定")
    ok = await agent.say(customer.chat_id, "如果您不知道密码,可以通过手机找回。")
    assert ok["seq"] > 0


async def test_a_quick_reply_cannot_smuggle_a_taboo_phrase_in_its_values(
    server: Server,
) -> None:
    # The one quick reply with a typed value was the callback's time; it is a structured
    # promise now (S-callback-24h), so free text never reaches the template.
    agent, customer = await served(server)
    await agent.send(
        {
            "type": "template",
            "chat_id": customer.chat_id,
            "key": "callback",
            "vars": {"time": "明天,我已经说得很清楚了"},
            "client_id": "q1",
        }
    )
    await agent.expect("error", code="invalid_template", ref="q1")
    await customer.quiet()


@pytest.mark.parametrize("settings_overrides", [{"forbidden_mode": "warn"}])
async def test_warn_mode_sends_the_message_and_records_the_hit(server: Server) -> None:
    agent, customer = await served(server)
    ack = await agent.say(customer.chat_id, "You are wrong, sorry.")
    got = await customer.until("message", sender="agent")
    assert got["seq"] == ack["seq"]
    [row] = await report(server)
    assert (row["blocked"], row["warned"]) == (0, 1)
    assert row["phrases"] == [{"phrase": "you are wrong", "count": 1}]


async def test_report_counts_per_agent_within_a_period(server: Server) -> None:
    first, c1 = await served(server, name="甲", employee_no="2001", capacity=1)
    second, c2 = await served(server, name="乙", employee_no="2002", capacity=1)
    for agent, chat_id, text in (
        (first, c1.chat_id, "这与我无关"),
        (first, c1.chat_id, "这与我无关啊"),
        (second, c2.chat_id, "我办不了"),
    ):
        await agent.send({"type": "message", "chat_id": chat_id, "client_id": "x", "text": text})
        await agent.expect("error", code="forbidden_phrase")
    rows = await report(server)
    assert [(r["name"], r["blocked"]) for r in rows] == [("甲", 2), ("乙", 1)]

    later = server.clock.advance(3600).isoformat()
    response = await server.http.get("/api/v1/reports/forbidden-phrases", params={"since": later})
    assert response.json()["items"] == []
    naive = await server.http.get(
        "/api/v1/reports/forbidden-phrases", params={"since": "2026-01-05T09:00:00"}
    )
    assert naive.status_code == 422


# One written form per evasion class (tests/data/evasion_corpus.txt has the full corpus).
EVASIONS = {
    "fuzzy: one character inserted": ("你们搞错了", "您搞错了"),
    "fuzzy: one character substituted": ("我已经说的很清楚了", "我已经说得很清楚了"),
    "particles: a bare answer with a particle": ("不知道啊!", "不知道"),
    "particles: a bare answer with a word added": ("我也不清楚", "不清楚"),
    "pinyin without tones": ("ni gao cuo le", "您搞错了"),
    "pinyin with tones": ("zhè yǔ wǒ wú guān", "这与我无关"),
    "homophone characters": ("您搞措了", "您搞错了"),
    "curated synonym": ("这跟我没关系", "这与我无关"),
    "leetspeak": ("y0u 4re wr0ng", "you are wrong"),
    "agent profanity": ("卧槽,又是这个问题", "卧槽"),
    "abuse abbreviation from an agent": ("你是sb吗", "sb"),
}


@pytest.mark.parametrize(("text", "phrase"), EVASIONS.values(), ids=EVASIONS.keys())
async def test_an_evasion_is_refused_and_the_customer_receives_nothing(
    server: Server, text: str, phrase: str
) -> None:
    agent, customer = await served(server)
    before = await stored_messages(server, customer.chat_id)
    await agent.send({"type": "message", "chat_id": customer.chat_id, "client_id": "e1",
                      "text": text})  # fmt: skip
    error = await agent.expect("error", code="forbidden_phrase", ref="e1")
    assert error["phrase"] == phrase
    await customer.quiet()
    assert await stored_messages(server, customer.chat_id) == before
    [row] = await report(server)
    assert row["phrases"] == [{"phrase": phrase, "count": 1}]

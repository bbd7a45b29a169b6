"""S-record: every way a complaint enters the notification table, and what each side sees."""

from __future__ import annotations

from tests.support.complaints import complain, detail, file, row_of, rows
from tests.support.server import Server

ACK_48 = "我们将把您的要求及时上报相关部门,并在48小时给您答复"
FACTS = {"amount": "68.00", "date": "2026-01-03", "time": "20:15", "order": "2026010312345"}


async def test_agent_files_a_complaint_and_the_customer_is_acknowledged(server: Server) -> None:
    agent = await server.agent("小王", "1001")
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    await customer.say("我充了68块钱,钻石没到账")

    await agent.send(
        {
            "type": "complaint",
            "chat_id": customer.chat_id,
            "topic": "recharge",
            "summary": "充值68元未到账",
            "facts": FACTS,
        }
    )
    # S-complaint-ack, to both sides of the chat; then the recorded row to the agent.
    ack = await customer.until("message", template="complaint_ack")
    assert ack["text"] == ACK_48
    await agent.until("message", template="complaint_ack")
    row = (await agent.expect("complaint", event="recorded"))["complaint"]

    assert row["status"] == "open"
    assert row["source"] == "agent"
    assert row["class"] == "ordinary" and row["reasons"] == []
    assert row["agent_id"] == agent.info["agent"]["id"]
    assert row["facts"] == FACTS
    assert row["opened_at"] == "2026-01-05T09:00:00Z"
    # S-complaint-48h: the answer is due two days after recording.
    assert row["answer_due_at"] == row["due_at"] == "2026-01-07T09:00:00Z"
    assert row["overdue"] is False

    stored = await detail(server, row["id"])
    assert [(e["action"], e["to"]) for e in stored["history"]] == [("recorded", "open")]
    assert stored["history"][0]["actor"] == f"agent:{agent.info['agent']['id']}"
    # The excerpt holds the chat up to the moment of recording (and what followed).
    assert [m["text"] for m in stored["transcript"]][1] == "我充了68块钱,钻石没到账"
    assert stored["transcript"][-1]["template"] == "complaint_ack"


async def test_customer_complains_and_a_repeat_adds_to_the_same_row(server: Server) -> None:
    agent = await server.agent()
    customer = await complain(server, "recharge", "充值没到账")
    await agent.until("complaint", event="recorded")
    row = await row_of(server, customer.chat_id)
    assert (row["source"], row["topic"], row["summary"]) == ("customer", "recharge", "充值没到账")

    await customer.send({"type": "complain", "topic": "recharge", "text": "已经两天了"})
    await customer.until("message", template="complaint_ack")
    updated = await agent.until("complaint", event="updated")
    assert updated["complaint"]["id"] == row["id"]
    assert len(await rows(server)) == 1
    history = (await detail(server, row["id"]))["history"]
    assert history[-1]["action"] == "comment"
    assert (history[-1]["actor"], history[-1]["comment"]) == ("customer", "已经两天了")


async def test_keyword_opens_a_draft_that_the_agent_confirms(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    ack = await customer.say("再不处理我就打315")

    draft = (await agent.until("complaint", event="draft"))["complaint"]
    assert (draft["status"], draft["source"], draft["topic"]) == ("draft", "keyword", "other")
    assert draft["facts"] == {"keyword": "315"}
    assert draft["due_at"] is None
    # The customer hears nothing until the agent confirms it.
    await customer.until("message", seq=ack["seq"])
    await customer.quiet()

    # Only one draft per chat, whatever else the customer writes.
    await customer.say("我要投诉")
    await agent.quiet_for("complaint")

    confirmed = await file(agent, customer.chat_id, "recharge", "充值未到账", {"amount": 68})
    assert confirmed["id"] == draft["id"]
    assert (confirmed["status"], confirmed["source"], confirmed["topic"]) == (
        "open",
        "keyword",
        "recharge",
    )
    assert confirmed["facts"] == {"keyword": "315", "amount": "68"}
    await customer.until("message", template="complaint_ack")
    history = (await detail(server, draft["id"]))["history"]
    assert [(e["action"], e["from"], e["to"]) for e in history] == [
        ("recorded", None, "draft"),
        ("topic", "other", "recharge"),
        ("summary", "再不处理我就打315", "充值未到账"),
        ("facts", '{"keyword": "315"}', '{"amount": "68", "keyword": "315"}'),
        ("status", "draft", "open"),
    ]


async def test_agent_dismisses_a_keyword_draft(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    said = await customer.say("我朋友说要投诉你们,我觉得你们挺好的")
    await customer.until("message", seq=said["seq"])
    draft = (await agent.until("complaint", event="draft"))["complaint"]

    await agent.send(
        {"type": "dismiss_complaint", "complaint_id": draft["id"], "comment": "不是投诉"}
    )
    dismissed = (await agent.until("complaint", event="dismissed"))["complaint"]
    assert dismissed["status"] == "dismissed"
    await customer.quiet()
    history = (await detail(server, draft["id"]))["history"]
    assert (history[-1]["from"], history[-1]["to"], history[-1]["comment"]) == (
        "draft",
        "dismissed",
        "不是投诉",
    )

    # A dismissed draft is final, and the chat gets no second draft.
    await agent.send({"type": "dismiss_complaint", "complaint_id": draft["id"]})
    await agent.until("error", code="invalid_state")
    await customer.say("投诉")
    await agent.quiet_for("complaint")


async def test_a_draft_is_confirmed_or_dismissed_over_http(server: Server) -> None:
    first = await server.customer()
    await first.say("我要举报外挂")
    second = await server.customer()
    await second.until("queue", position=2)  # told after the welcome; nothing else follows
    said = await second.say("我要投诉")
    await second.until("message", seq=said["seq"])
    one, two = await row_of(server, first.chat_id), await row_of(server, second.chat_id)
    assert one["status"] == two["status"] == "draft"

    response = await server.http.patch(
        f"/api/v1/complaints/{one['id']}", json={"status": "open", "topic": "gameplay"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "open"
    assert response.json()["due_at"] == "2026-01-07T09:00:00Z"
    await first.until("message", template="complaint_ack")

    response = await server.http.patch(
        f"/api/v1/complaints/{two['id']}", json={"status": "dismissed", "comment": "误报"}
    )
    assert response.json()["status"] == "dismissed"
    await second.quiet()


async def test_english_keywords_open_drafts_too(server: Server) -> None:
    customer = await server.customer(locale="en")
    await customer.say("I will complain to consumer protection")
    assert (await row_of(server, customer.chat_id))["facts"] == {"keyword": "complain"}
    other = await server.customer(locale="en")
    await other.say("我要投诉")  # the source locale's list applies in every chat
    assert (await row_of(server, other.chat_id))["status"] == "draft"


async def test_order_numbers_do_not_open_drafts(server: Server) -> None:
    customer = await server.customer()
    await customer.say("订单号2026031512345,充值3150元")
    await customer.say("2026031512345")
    assert await rows(server) == []


async def test_bad_complaint_frames_change_nothing(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    chat = customer.chat_id
    bad = [
        (
            {"type": "complaint", "chat_id": chat, "topic": "weather", "summary": "x"},
            "unknown_topic",
        ),
        (
            {
                "type": "complaint",
                "chat_id": chat,
                "topic": "recharge",
                "summary": "x",
                "facts": {"amount": "a lot"},
            },
            "bad_frame",
        ),
        (
            {
                "type": "complaint",
                "chat_id": chat,
                "topic": "recharge",
                "summary": "x",
                "facts": {"Order": 1},
            },
            "bad_frame",
        ),
        (
            {"type": "complaint", "chat_id": 999, "topic": "recharge", "summary": "x"},
            "not_your_chat",
        ),
        ({"type": "complaint", "chat_id": chat, "topic": "recharge"}, "bad_frame"),
        ({"type": "dismiss_complaint", "complaint_id": 999}, "not_your_chat"),
    ]
    for frame, code in bad:
        await agent.send(frame)
        error = await agent.until("error")
        assert error["code"] == code, (frame, error)
    await customer.send({"type": "complain", "topic": "weather", "text": "下雨了"})
    error = await customer.until("error", code="unknown_topic")
    assert "recharge" in error["message"]
    await customer.send({"type": "complain", "topic": "recharge", "text": ""})
    await customer.until("error", code="bad_frame")
    assert await rows(server) == []
    await customer.quiet()


async def test_another_agents_chat_is_not_yours_but_a_supervisors(server: Server) -> None:
    mine = await server.agent("甲", "2001")
    customer = await server.customer()
    await mine.until("assigned", chat_id=customer.chat_id)
    other = await server.agent("乙", "2002")
    await other.send(
        {"type": "complaint", "chat_id": customer.chat_id, "topic": "account", "summary": "x"}
    )
    await other.until("error", code="not_your_chat")

    supervisor = await server.supervisor()
    row = await file(supervisor, customer.chat_id, "account", "账号被盗")
    assert row["agent_id"] == supervisor.info["agent"]["id"]
    # The agent holding the chat sees it too.
    assert (await mine.until("complaint", event="recorded"))["complaint"]["id"] == row["id"]


async def test_a_complaint_can_be_filed_after_the_chat_closed(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    await customer.send({"type": "close"})
    await agent.until("closed", chat_id=customer.chat_id)
    row = await file(agent, customer.chat_id, "service", "客户对回复速度不满")
    assert row["status"] == "open"
    ack = await customer.until("message", template="complaint_ack")
    assert ack["text"] == ACK_48


async def test_the_customers_own_complaint_confirms_a_keyword_draft(server: Server) -> None:
    customer = await server.customer()
    await customer.say("我要投诉")
    draft = await row_of(server, customer.chat_id)
    await customer.send({"type": "complain", "topic": "account", "text": "账号被封"})
    await customer.until("message", template="complaint_ack")
    row = await row_of(server, customer.chat_id)
    assert row["id"] == draft["id"]
    assert (row["status"], row["source"], row["topic"], row["summary"]) == (
        "open",
        "customer",
        "account",
        "账号被封",
    )
    actions = [(e["action"], e["actor"]) for e in (await detail(server, row["id"]))["history"]]
    assert ("source", "customer") in actions and actions[-1] == ("status", "customer")


async def test_complaint_keywords_fold_like_the_taboo_phrases(server: Server) -> None:
    """One matcher for every list: traditional characters and spacing open a draft too."""
    customer = await server.customer()
    await customer.say("我要投 訴你們")
    assert (await row_of(server, customer.chat_id))["facts"] == {"keyword": "投诉"}

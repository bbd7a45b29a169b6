"""S-survey and S-satisfaction: the survey at the close, one rating per chat, bands, the
unsatisfied follow-up (S-unsatisfied-7d) and the satisfaction report."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaints import rows
from tests.support.server import Agent, Customer, Server

UNSATISFIED = "很遗憾,我没有提供让您满意的服务,一周内我司的服务质量监督员会再次与您联系"
DAY = 24 * 3600.0


async def served(server: Server, agent: Agent, **hello: Any) -> Customer:
    customer = await server.customer(**hello)
    await agent.until("assigned", chat_id=customer.chat_id)
    return customer


async def closed_by_agent(server: Server, agent: Agent, **hello: Any) -> Customer:
    customer = await served(server, agent, **hello)
    await close_through_grace(server, agent, customer)
    await customer.until("closed")
    return customer


async def close_through_grace(server: Server, agent: Agent, customer: Customer) -> None:
    """The agent closes; S-customer-ends leaves a grace, which the clock runs out."""
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await customer.until("closing")
    await server.advance(server.runtime.settings.close_grace_s)


async def rate(customer: Customer, score: int, comment: str | None = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": "rate", "score": score}
    if comment is not None:
        frame["comment"] = comment
    await customer.send(frame)
    return await customer.until("rated")


async def test_survey_follows_the_closing_template(server: Server) -> None:
    agent = await server.agent()
    customer = await served(server, agent)
    await close_through_grace(server, agent, customer)
    closing = await customer.until("message", template="closing")
    survey = await customer.expect("message", template="survey", seq=closing["seq"] + 1)
    assert survey["text"] == "请问您对我的服务态度在0到10分之间会打几分?"
    await customer.expect("closed", by="agent")


async def test_no_survey_when_nobody_served_the_chat_or_the_customer_left(
    server: Server,
) -> None:
    queued = await server.customer()
    await queued.until("queue")
    await queued.send({"type": "close"})
    await queued.until("message", template="closing")
    await queued.expect("closed", by="customer")
    await queued.send({"type": "rate", "score": 9})
    await queued.until("error", code="invalid_state")

    agent = await server.agent()
    gone = await served(server, agent)
    await agent.say(gone.chat_id, "您好")  # answered, so the silent-agent rule stays out of it
    await server.leave(gone)
    await server.advance(server.runtime.settings.customer_grace_s)
    await agent.until("closed", chat_id=gone.chat_id, by="system")
    response = await server.http.get(f"/api/v1/chats/{gone.chat_id}")
    assert "survey" not in [m.get("template") for m in response.json()["messages"]]


@pytest.mark.parametrize(
    ("score", "band"),
    [
        (0, "unsatisfied"),
        (4, "unsatisfied"),
        (5, "average"),
        (7, "average"),
        (8, "satisfied"),
        (10, "satisfied"),
    ],
)
async def test_rating_is_stored_with_its_band(server: Server, score: int, band: str) -> None:
    agent = await server.agent()
    customer = await closed_by_agent(server, agent)
    rated = await rate(customer, score, "态度很好" if score > 4 else "太慢了")
    assert rated == {"type": "rated", "chat_id": customer.chat_id, "score": score, "band": band}
    follow_ups = await rows(server, source="survey")
    if band == "unsatisfied":
        # S-unsatisfied: answered with the template, and a follow-up due within 7 days.
        answer = await customer.until("message", template="unsatisfied")
        assert answer["text"] == UNSATISFIED
        [row] = follow_ups
        assert (row["chat_id"], row["topic"], row["status"]) == (
            customer.chat_id,
            "service",
            "open",
        )
        assert row["facts"] == {"score": score, "comment": "太慢了"}
        assert row["agent_id"] == agent.info["agent"]["id"]
        assert row["due_at"] == "2026-01-12T09:00:30Z"
    else:
        assert follow_ups == []
        await customer.quiet()


async def test_a_chat_is_rated_once(server: Server) -> None:
    agent = await server.agent()
    customer = await closed_by_agent(server, agent)
    await rate(customer, 9)
    await customer.send({"type": "rate", "score": 1})
    await customer.until("error", code="already_rated")
    report = (await server.http.get("/api/v1/reports/satisfaction")).json()
    assert report["overall"]["ratings"] == 1
    # The same holds on a second tab of the chat.
    again = await server.customer(resume={"token": customer.token, "last_seq": 0})
    await again.send({"type": "rate", "score": 2})
    await again.until("error", code="already_rated")


async def test_an_open_chat_without_the_survey_cannot_be_rated(server: Server) -> None:
    agent = await server.agent()
    customer = await served(server, agent)
    await customer.send({"type": "rate", "score": 9})
    error = await customer.until("error", code="invalid_state")
    assert "survey" in error["message"]
    for bad in (
        {"type": "rate", "score": 11},
        {"type": "rate", "score": -1},
        {"type": "rate", "score": 9.5},
        {"type": "rate"},
        {"type": "rate", "score": 9, "comment": "x" * 2001},
    ):
        await customer.send(bad)
        await customer.until("error", code="bad_frame")
    assert (await server.http.get("/api/v1/reports/satisfaction")).json()["overall"]["ratings"] == 0


async def test_an_unsatisfied_vip_is_urgent_for_supervisors(server: Server) -> None:
    supervisor = await server.supervisor()
    agent = await server.agent()
    customer = await closed_by_agent(server, agent, player=server.player("p-v", tier="vip5"))
    await rate(customer, 2)
    alert = await supervisor.until("complaint", event="urgent")
    assert alert["complaint"]["source"] == "survey"
    # S-classes: the urgent deadline is the shorter one.
    assert alert["complaint"]["due_at"] == "2026-01-06T09:00:30Z"


async def test_survey_follow_ups_never_form_a_batch(server: Server) -> None:
    agent = await server.agent(capacity=20)
    for n in range(12):
        customer = await closed_by_agent(server, agent, player=server.player(f"p-{n}"))
        await rate(customer, 0)
    assert not any("batch" in row["reasons"] for row in await rows(server))


async def test_satisfaction_report_per_agent_and_overall(server: Server) -> None:
    wang = await server.agent("小王", "1001", capacity=1)
    li = await server.agent("小李", "1002", capacity=1, status="away")
    for score in (10, 9, 9, 3):
        await rate(await closed_by_agent(server, wang), score)
    await server.advance(DAY)
    await li.send({"type": "status", "status": "online"})
    await wang.send({"type": "status", "status": "away"})
    await wang.until("status", status="away")
    for score in (6, 8):
        await rate(await closed_by_agent(server, li), score)

    report = (await server.http.get("/api/v1/reports/satisfaction")).json()
    overall = report["overall"]
    assert overall["ratings"] == 6
    assert (overall["unsatisfied"], overall["average"], overall["satisfied"]) == (1, 1, 4)
    assert overall["mean"] == round((10 + 9 + 9 + 3 + 6 + 8) / 6, 2)
    assert (overall["p10"], overall["p50"], overall["p90"]) == (3, 8, 10)
    assert overall["satisfied_share"] == round(4 / 6, 4)
    by_agent = {a["employee_no"]: a for a in report["agents"]}
    assert by_agent["1001"]["ratings"] == 4 and by_agent["1001"]["p50"] == 9
    assert by_agent["1002"]["ratings"] == 2 and by_agent["1002"]["mean"] == 7.0

    day_two = (
        await server.http.get(
            "/api/v1/reports/satisfaction", params={"since": "2026-01-06T00:00:00Z"}
        )
    ).json()
    assert day_two["overall"]["ratings"] == 2
    assert [a["employee_no"] for a in day_two["agents"]] == ["1002"]
    one = (
        await server.http.get(
            "/api/v1/reports/satisfaction", params={"agent_id": wang.info["agent"]["id"]}
        )
    ).json()
    assert one["overall"]["ratings"] == 4
    empty = (
        await server.http.get(
            "/api/v1/reports/satisfaction", params={"until": "2026-01-05T00:00:00Z"}
        )
    ).json()
    assert empty["overall"]["ratings"] == 0 and empty["overall"]["mean"] is None
    bad = await server.http.get("/api/v1/reports/satisfaction", params={"since": "yesterday"})
    assert bad.status_code == 422

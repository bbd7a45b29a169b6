"""S-no-silence, S-answer-fast: every reply stores its wait; the reports add them up in SQL."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from service.db.models import Chat, Reply
from tests.support.server import Agent, Customer, Server


def iso(server: Server, after_s: float = 0) -> str:
    return (server.clock.now() + timedelta(seconds=after_s)).isoformat().replace("+00:00", "Z")


async def test_reply_waits_are_stored_from_the_earliest_unanswered_message(server: Server) -> None:
    customer = await server.customer()  # t=0, queued
    await customer.until("queue", position=1)
    await customer.say("第一条")  # t=0: the wait starts
    server.clock.advance(10)
    await customer.say("第二条")  # t=10: the same wait
    server.clock.advance(5)
    agent = await server.agent()  # t=15: assigned after 15 s in the queue
    await agent.expect("assigned", chat_id=customer.chat_id)
    server.clock.advance(20)
    first = await agent.say(customer.chat_id, "您好,我来帮您看看")  # t=35
    await agent.say(customer.chat_id, "请稍等")  # t=35: nothing waits, not a reply
    server.clock.advance(3)
    await customer.say("好的")  # t=38
    server.clock.advance(7)
    await agent.say(customer.chat_id, "查到了")  # t=45

    rows = await server.rows(select(Reply).order_by(Reply.id))
    assert [(r.wait_ms, r.first_response_ms) for r in rows] == [(35_000, 35_000), (7_000, None)]
    assert rows[0].agent_id == agent.info["agent"]["id"]
    [chat] = await server.rows(select(Chat).where(Chat.id == customer.chat_id))
    assert (chat.queue_ms, chat.first_response_ms) == (15_000, 35_000)
    detail = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    assert (detail["queue_s"], detail["first_response_s"]) == (15.0, 35.0)
    seqs = {m["client_id"]: m["seq"] for m in detail["messages"] if "client_id" in m}
    assert seqs["a1"] == first["seq"]


async def exchange(server: Server, agent: Agent, customer: Customer, wait_s: float) -> None:
    """The customer asks; the agent answers ``wait_s`` later (timers fire on the way)."""
    await customer.say("请问")
    await server.advance(wait_s)
    await agent.say(customer.chat_id, "答复")


async def desk(server: Server) -> tuple[Agent, Agent, list[Customer]]:
    """Agent 甲 serves c1..c3, agent 乙 serves c4 and c5, with known waits.

    First responses (all five customers ask at t=0): 甲 2, 5, 8 s; 乙 3, 20 s.
    Further replies: 甲 in c1 4, 1, 6 s; 乙 in c4 30, 7, 75 s (the last one past S-max-wait).
    """
    a = await server.agent("甲", "2001", capacity=3)
    customers = [await server.customer() for _ in range(3)]
    for c in customers:
        await a.until("assigned", chat_id=c.chat_id)
    b = await server.agent("乙", "2002", capacity=2)
    customers += [await server.customer() for _ in range(2)]
    for c in customers[3:]:
        await b.until("assigned", chat_id=c.chat_id)
    for c in customers:
        await c.say("你好")
    c1, c2, c3, c4, c5 = (c.chat_id for c in customers)
    for step, agent, chat_id in ((2, a, c1), (1, b, c4), (2, a, c2), (3, a, c3), (12, b, c5)):
        server.clock.advance(step)
        await agent.say(chat_id, "您好")
    for wait in (4, 1, 6):
        await exchange(server, a, customers[0], wait)
    for wait in (30, 7, 75):
        await exchange(server, b, customers[3], wait)
    return a, b, customers


def spread(avg: float, p50: float, p90: float, p99: float) -> dict[str, float]:
    return {"avg": avg, "p50": p50, "p90": p90, "p99": p99}


async def test_report_percentiles_match_hand_computed_values(server: Server) -> None:
    start = iso(server)
    a, b, _ = await desk(server)
    response = await server.http.get("/api/v1/reports/reply-times", params={"from": start})
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["from"] == start
    assert report["max_wait_s"] == 60
    rows = {row["employee_no"]: row for row in report["agents"]}
    assert [row["agent_id"] for row in report["agents"]] == [
        a.info["agent"]["id"],
        b.info["agent"]["id"],
    ]

    # 甲: waits 2 5 8 4 1 6 -> sorted 1 2 4 5 6 8; nearest rank ceil(p·n): p50 #3, p90 #6, p99 #6.
    assert rows["2001"]["reply_wait_s"] == spread(4.333, 4, 8, 8)
    # 甲: first responses 2 5 8 -> p50 #2, p90 #3, p99 #3.
    assert rows["2001"]["first_response_s"] == spread(5, 5, 8, 8)
    assert (rows["2001"]["chats"], rows["2001"]["replies"], rows["2001"]["breaches"]) == (3, 6, 0)
    assert rows["2001"]["apologies"] == 0
    # 乙: waits 3 20 30 7 75 -> 3 7 20 30 75: p50 #3, p90 #5, p99 #5; 75 s is one breach.
    assert rows["2002"]["reply_wait_s"] == spread(27, 20, 75, 75)
    # 乙: first responses 3 20 -> p50 #1, p90 #2.
    assert rows["2002"]["first_response_s"] == spread(11.5, 3, 20, 20)
    assert (rows["2002"]["chats"], rows["2002"]["replies"], rows["2002"]["breaches"]) == (2, 5, 1)
    assert rows["2002"]["apologies"] == 1  # the long-wait apology went out at 60 s
    # Overall: 1 2 3 4 5 6 7 8 20 30 75 (n=11): p50 #6, p90 #10, p99 #11; mean 161/11.
    overall = report["overall"]
    assert overall["reply_wait_s"] == spread(14.636, 6, 30, 75)
    # First responses 2 3 5 8 20: p50 #3, p90 #5, p99 #5.
    assert overall["first_response_s"] == spread(7.6, 5, 20, 20)
    assert (overall["chats"], overall["replies"], overall["breaches"]) == (5, 11, 1)
    assert (overall["apologies"], overall["reassignments"]) == (1, 0)


async def test_report_narrows_to_a_time_range_and_an_agent(server: Server) -> None:
    start = iso(server)
    phase_one_end = iso(server, 21)  # the five first responses happen by t=20
    a, _, _ = await desk(server)

    early = await report(server, {"from": start, "to": phase_one_end})
    assert early["overall"]["replies"] == 5
    assert early["overall"]["reply_wait_s"] == spread(7.6, 5, 20, 20)

    mine = await report(server, {"from": start, "agent_id": a.info["agent"]["id"]})
    assert [row["employee_no"] for row in mine["agents"]] == ["2001"]
    assert mine["overall"]["reply_wait_s"] == spread(4.333, 4, 8, 8)

    empty = await report(server, {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"})
    assert empty["agents"] == []
    assert empty["overall"]["replies"] == 0
    assert empty["overall"]["reply_wait_s"] == spread(None, None, None, None)  # type: ignore[arg-type]


async def test_report_as_csv(server: Server) -> None:
    start = iso(server)
    await desk(server)
    response = await server.http.get(
        "/api/v1/reports/reply-times", params={"from": start}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["scope"], r["employee_no"]) for r in rows] == [
        ("overall", ""),
        ("agent", "2001"),
        ("agent", "2002"),
    ]
    assert rows[0]["reply_wait_p99_s"] == "75.0"
    assert rows[1]["reply_wait_p50_s"] == "4.0"
    assert rows[2]["first_response_avg_s"] == "11.5"
    assert rows[2]["breaches"] == "1"
    same = await server.http.get(
        "/api/v1/reports/reply-times", params={"from": start, "format": "csv"}
    )
    assert same.text == response.text


async def test_bad_report_queries_are_refused(server: Server) -> None:
    backwards = await server.http.get(
        "/api/v1/reports/reply-times",
        params={"from": "2026-01-05T10:00:00Z", "to": "2026-01-05T09:00:00Z"},
    )
    assert backwards.status_code == 422
    assert backwards.json()["code"] == "invalid_range"
    nobody = await server.http.get("/api/v1/reports/reply-times", params={"agent_id": 999})
    assert (nobody.status_code, nobody.json()["code"]) == (404, "not_found")
    for params in ({"from": "yesterday"}, {"format": "xml"}, {"agent_id": "0"}):
        bad = await server.http.get("/api/v1/reports/reply-times", params=params)
        assert (bad.status_code, bad.json()["code"]) == (422, "invalid_request"), params
    anonymous = await server.http.get(
        "/api/v1/reports/queue", headers={"Authorization": "Bearer nope"}
    )
    assert anonymous.status_code == 401


async def test_queue_report_shows_length_and_longest_wait(server: Server) -> None:
    first = await server.customer()
    server.clock.advance(30)
    second = await server.customer()
    server.clock.advance(15)
    await server.customer()
    await first.say("有人吗")
    server.clock.advance(5)

    now = await report(server, {}, "queue")
    assert (now["length"], now["longest_wait_s"], now["longest_chat_id"]) == (3, 50, first.chat_id)
    queued = (await server.http.get("/api/v1/chats", params={"status": "queued"})).json()
    since = {chat["id"]: chat["queued_since"] for chat in queued["items"]}
    assert since[first.chat_id] < since[second.chat_id]  # the dashboard's waiting clocks
    assert (now["waiting_for_reply"], now["longest_reply_wait_s"]) == (1, 5)
    assert now["agents_online"] == 0

    agent = await server.agent(capacity=1)
    await agent.expect("assigned", chat_id=first.chat_id)
    later = await report(server, {}, "queue")
    assert (later["length"], later["longest_wait_s"], later["longest_chat_id"]) == (
        2,
        20,
        second.chat_id,
    )
    assert (later["waiting_for_reply"], later["agents_online"]) == (1, 1)
    # The dashboard's agent table: whose customer waits, and for how long (S-no-silence).
    held = (await server.http.get(f"/api/v1/chats/{first.chat_id}")).json()
    assert now["agents"] == []
    assert later["agents"] == [
        {"agent_id": held["agent_id"], "waiting_for_reply": 1, "longest_reply_wait_s": 5}
    ]

    text = (await server.http.get("/api/v1/reports/queue", params={"format": "csv"})).text
    [row] = list(csv.DictReader(io.StringIO(text)))
    assert (row["length"], row["longest_wait_s"]) == ("2", "20.0")
    assert "agents" not in row


async def report(server: Server, params: dict[str, Any], name: str = "reply-times") -> Any:
    response = await server.http.get(f"/api/v1/reports/{name}", params=params)
    assert response.status_code == 200, response.text
    return response.json()

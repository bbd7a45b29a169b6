"""Promises are tasks (S-callback, S-callback-24h, S-follow-up): the quick reply with a checked
time, the task it opens, the reminder, the escalation when overdue, and keeping it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.promises.models import Promise
from tests.support.server import Agent, Customer, Server

# The clock starts at 09:00 UTC: 17:00 in Asia/Shanghai (KEFU_TIMEZONE).
AT_18 = "2026-01-05T18:00:00+08:00"  # in one hour
CALLBACK_18 = "我会在2026-01-05 18:00答复您,请留下您的联系电话。"


async def served(server: Server, name: str = "小王") -> tuple[Agent, Customer]:
    agent = await server.agent(name)
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    return agent, customer


async def promise(agent: Agent, chat_id: int, due_at: str, **fields: Any) -> None:
    await agent.send(
        {"type": "promise", "chat_id": chat_id, "kind": "callback", "due_at": due_at, **fields}
    )


async def promises(server: Server, **params: Any) -> dict[str, Any]:
    response = await server.http.get("/api/v1/promises", params=params)
    assert response.status_code == 200, response.text
    page: dict[str, Any] = response.json()
    return page


async def test_callback_promise_tells_the_time_and_opens_a_task_owned_by_the_agent(
    server: Server,
) -> None:
    agent, customer = await served(server)
    await promise(agent, customer.chat_id, AT_18, client_id="p1")
    told = await customer.until("message", template="callback")
    assert (told["text"], told["sender"]) == (CALLBACK_18, "agent")
    ack = await agent.until("ack", client_id="p1")
    assert ack["seq"] == told["seq"]
    made = await agent.until("promise", event="made")
    card = made["promise"]
    assert (card["kind"], card["state"], card["chat_id"]) == ("callback", "open", customer.chat_id)
    assert card["agent"]["id"] == agent.info["agent"]["id"]
    assert (card["due_at"], card["overdue"], card["message_seq"]) == (
        "2026-01-05T10:00:00Z",
        False,
        told["seq"],
    )

    # A resend of the same client_id is acknowledged again; nothing is promised twice.
    await promise(agent, customer.chat_id, AT_18, client_id="p1")
    assert (await agent.until("ack", client_id="p1"))["seq"] == told["seq"]
    page = await promises(server, state="open")
    assert page["total"] == 1
    assert page["items"][0] == card
    assert (await server.http.get(f"/api/v1/promises/{card['id']}")).json() == card
    # Timers armed: the reminder 15 minutes before, the due time.
    assert (await server.armed(f"promise_remind:{card['id']}")).due_at.isoformat() == (
        "2026-01-05T09:45:00+00:00"
    )
    assert (await server.armed(f"promise_due:{card['id']}")).due_at.isoformat() == (
        "2026-01-05T10:00:00+00:00"
    )


async def test_owner_is_reminded_then_supervisors_get_it_when_overdue(server: Server) -> None:
    supervisor = await server.supervisor()
    agent, customer = await served(server)
    await promise(agent, customer.chat_id, AT_18)
    card = (await agent.until("promise", event="made"))["promise"]

    assert await server.advance(44 * 60) == 0
    assert await server.advance(60) == 1  # 17:45: the reminder
    reminder = await agent.until("promise", event="reminder")
    assert reminder["promise"]["id"] == card["id"]
    assert reminder["promise"]["reminded_at"] == "2026-01-05T09:45:00Z"
    await supervisor.quiet_for("promise")
    assert (await promises(server, overdue="true"))["total"] == 0

    assert await server.advance(15 * 60) == 1  # 18:00 and still open: escalated
    for peer in (agent, supervisor):
        overdue = await peer.until("promise", event="overdue")
        assert overdue["promise"]["id"] == card["id"]
        assert overdue["promise"]["overdue"] is True
        assert overdue["promise"]["escalated_at"] == "2026-01-05T10:00:00Z"
    listed = await promises(server, overdue="true")
    assert [p["id"] for p in listed["items"]] == [card["id"]]
    desk = (await server.http.get("/api/v1/desk")).json()
    assert desk["overdue_promises"] == 1

    # Kept late, from the console: no longer overdue.
    await agent.send({"type": "promise_done", "promise_id": card["id"], "outcome": "已回电"})
    done = await agent.until("promise", event="done")
    assert (done["promise"]["state"], done["promise"]["outcome"]) == ("done", "已回电")
    assert done["promise"]["done_by"] == f"agent:{agent.info['agent']['id']}"
    assert (await promises(server, overdue="true"))["total"] == 0


async def test_a_promise_kept_in_time_raises_nothing(server: Server) -> None:
    supervisor = await server.supervisor()
    agent, customer = await served(server)
    await promise(agent, customer.chat_id, AT_18)
    card = (await agent.until("promise", event="made"))["promise"]
    kept = await server.http.patch(
        f"/api/v1/promises/{card['id']}", json={"state": "done", "outcome": "答复了"}
    )
    assert kept.status_code == 200, kept.text
    assert (kept.json()["state"], kept.json()["done_by"]) == ("done", "KEFU_ADMIN_TOKEN")
    assert await server.advance(2 * 3600) == 0  # both timers were cancelled
    await supervisor.quiet_for("promise")
    again = await server.http.patch(f"/api/v1/promises/{card['id']}", json={"state": "done"})
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    missing = await server.http.patch("/api/v1/promises/999", json={"state": "done"})
    assert missing.status_code == 404
    bad = await server.http.patch(f"/api/v1/promises/{card['id']}", json={"state": "open"})
    assert bad.status_code == 422


async def test_times_beyond_24_hours_or_past_are_refused_and_nothing_is_sent(
    server: Server,
) -> None:
    agent, customer = await served(server)
    await customer.drain()
    for due_at, reason in (
        ("2026-01-06T09:01:00Z", "too_far"),  # 24 h and a minute
        ("2026-01-08T17:00:00+08:00", "too_far"),  # "3天后"
        ("2026-01-05T16:00:00+08:00", "past"),
        ("2026-01-05T18:00:00", "no_zone"),
    ):
        await promise(agent, customer.chat_id, due_at, client_id="x")
        error = await agent.expect("error", code="promise_refused", ref="x")
        assert error["reason"] == reason, error
    await agent.send(
        {"type": "promise", "chat_id": customer.chat_id, "kind": "soon", "due_at": AT_18}
    )
    await agent.expect("error", code="bad_frame")
    await agent.send(
        {"type": "promise", "chat_id": customer.chat_id, "kind": "callback", "due_at": "明天"}
    )
    await agent.expect("error", code="bad_frame")
    # Exactly 24 hours ahead is still a promise the standard allows.
    await promise(agent, customer.chat_id, "2026-01-06T09:00:00Z", client_id="ok")
    await agent.until("ack", client_id="ok")
    # The free-text way is closed: the callback quick reply needs the promise frame.
    await agent.send(
        {
            "type": "template",
            "chat_id": customer.chat_id,
            "key": "callback",
            "vars": {"time": "3天后"},
        }
    )
    await agent.until("error", code="invalid_template")
    texts = [f.get("template") for f in await customer.drain() if f["type"] == "message"]
    assert texts == ["callback"]  # only the one accepted promise reached the customer
    assert len(await server.rows(select(Promise))) == 1


async def test_follow_up_promise_on_a_complaint(server: Server) -> None:
    agent, customer = await served(server)
    await agent.send(
        {"type": "promise", "chat_id": customer.chat_id, "kind": "follow_up", "due_at": AT_18}
    )
    error = await agent.until("error", code="promise_refused")
    assert error["reason"] == "no_complaint"

    await agent.send(
        {"type": "complaint", "chat_id": customer.chat_id, "topic": "recharge", "summary": "未到账"}
    )
    recorded = await agent.until("complaint", event="recorded")
    complaint_id = recorded["complaint"]["id"]
    await agent.send(
        {
            "type": "promise",
            "chat_id": customer.chat_id,
            "kind": "follow_up",
            "due_at": AT_18,
            "client_id": "f1",
        }
    )
    told = await customer.until("message", template="get_back")
    assert told["text"] == "您反映的问题我已经记录下来,我会在2026-01-05 18:00前给您答复,请您放心。"
    card = (await agent.until("promise", event="made"))["promise"]
    assert (card["kind"], card["complaint_id"]) == ("follow_up", complaint_id)
    assert (await promises(server, kind="follow_up"))["total"] == 1


async def test_agents_list_and_keep_only_their_own_promises(server: Server) -> None:
    agent, customer = await served(server)
    other, other_customer = await served(server, "小李")
    await promise(agent, customer.chat_id, AT_18)
    mine = (await agent.until("promise", event="made"))["promise"]
    # Not the other agent's chat, and not their promise to keep.
    await promise(other, customer.chat_id, AT_18)
    await other.until("error", code="not_your_chat")
    await other.send({"type": "promise_done", "promise_id": mine["id"]})
    await other.until("error", code="not_found")

    await agent.send({"type": "promises"})
    listed = await agent.until("promises")
    assert [p["id"] for p in listed["items"]] == [mine["id"]] and listed["total"] == 1
    await other.send({"type": "promises"})
    assert (await other.until("promises"))["items"] == []
    assert (await promises(server, agent_id=agent.info["agent"]["id"]))["total"] == 1
    assert other_customer.chat_id != customer.chat_id

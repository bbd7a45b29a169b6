"""Nobody online (S-callback-24h, S-no-unattended): told at once, leave a message, callbacks,
the unattended desk and the supervisors' alerts."""

from __future__ import annotations

import pytest

from tests.support.server import Server

NOBODY = (
    "非常抱歉,目前暂时没有在线客服,您可以给我们留言并留下您的联系电话,我们会在24小时内与您联系。"
)


async def desk(server: Server) -> dict[str, object]:
    response = await server.http.get("/api/v1/desk")
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def test_customer_is_told_at_once_and_can_leave_a_message(server: Server) -> None:
    customer = await server.customer()
    await customer.expect("message", seq=1, template="welcome")
    told = await customer.expect("message", seq=2, template="nobody_online")
    assert told["text"] == NOBODY
    await customer.expect("queue", position=1)

    await customer.send(
        {"type": "leave_message", "contact": "138 0013 8000", "text": "账号被封,请回电"}
    )
    left = await customer.expect("message", seq=3, sender="customer")
    assert (left["text"], left["kind"]) == ("账号被封,请回电", "leave_message")
    ack = await customer.expect("message", seq=4, template="leave_message_ack")
    # 09:00 UTC is 17:00 in Asia/Shanghai; the answer is due 24 hours later.
    assert (
        ack["text"] == "您的留言我们已经收到,我们会在2026-01-06 17:00前与您联系,感谢您的耐心等待!"
    )
    await customer.expect("closed", by="customer")

    page = (await server.http.get("/api/v1/callbacks", params={"status": "open"})).json()
    assert page["total"] == 1
    [callback] = page["items"]
    assert callback["chat_id"] == customer.chat_id
    assert (callback["contact"], callback["text"]) == ("138 0013 8000", "账号被封,请回电")
    assert callback["due_at"] == "2026-01-06T09:00:00Z"
    assert callback["overdue"] is False
    assert (await desk(server))["open_callbacks"] == 1

    # A second message on the closed chat is refused and stores nothing.
    await customer.send({"type": "leave_message", "contact": "x", "text": "again"})
    await customer.expect("error", code="invalid_state")
    assert (await server.http.get("/api/v1/callbacks")).json()["total"] == 1


async def test_leave_message_is_for_waiting_customers_only(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.send({"type": "leave_message", "contact": "x", "text": "回电"})
    await customer.until("error", code="invalid_state")
    await customer.send({"type": "leave_message", "contact": "", "text": "回电"})
    await customer.expect("error", code="bad_frame")
    assert (await server.http.get("/api/v1/callbacks")).json()["total"] == 0


async def test_overdue_callback_alerts_supervisors_until_it_is_done(server: Server) -> None:
    supervisor = await server.agent("主管", "9001", role="supervisor", status="away")
    customer = await server.customer()
    await customer.until("queue")
    await customer.send({"type": "leave_message", "contact": "li@example.com", "text": "退款"})
    await customer.until("closed")
    [callback] = (await server.http.get("/api/v1/callbacks")).json()["items"]

    assert await server.advance(23 * 3600) == 0
    await supervisor.quiet()
    assert await server.advance(3600) == 1
    alert = await supervisor.expect("alert", kind="callback_overdue")
    assert (alert["callback_id"], alert["chat_id"]) == (callback["id"], customer.chat_id)
    overdue = (await server.http.get("/api/v1/callbacks", params={"overdue": "true"})).json()
    assert [c["id"] for c in overdue["items"]] == [callback["id"]]

    done = await server.http.patch(
        f"/api/v1/callbacks/{callback['id']}", json={"status": "done", "outcome": "已退款"}
    )
    assert done.status_code == 200, done.text
    body = done.json()
    assert (body["status"], body["done_by"], body["outcome"]) == (
        "done",
        "KEFU_ADMIN_TOKEN",
        "已退款",
    )
    assert body["overdue"] is False
    again = await server.http.patch(f"/api/v1/callbacks/{callback['id']}", json={"status": "done"})
    assert again.status_code == 409
    assert (
        await server.http.patch("/api/v1/callbacks/999", json={"status": "done"})
    ).status_code == 404
    bad = await server.http.patch(f"/api/v1/callbacks/{callback['id']}", json={"status": "open"})
    assert bad.status_code == 422


async def test_callback_done_in_time_raises_no_alert(server: Server) -> None:
    supervisor = await server.agent("主管", "9001", role="supervisor", status="away")
    customer = await server.customer()
    await customer.until("queue")
    await customer.send({"type": "leave_message", "contact": "x", "text": "y"})
    await customer.until("closed")
    [callback] = (await server.http.get("/api/v1/callbacks")).json()["items"]
    await server.http.patch(f"/api/v1/callbacks/{callback['id']}", json={"status": "done"})
    assert await server.advance(25 * 3600) == 0
    await supervisor.quiet()


async def test_empty_desk_in_service_hours_is_flagged_and_supervisors_alerted(
    server: Server,
) -> None:
    assert (await desk(server))["unattended"] is True
    supervisor = await server.agent("主管", "9001", role="supervisor", status="away")
    agent = await server.agent("甲", "2001")
    status = await desk(server)
    assert (status["unattended"], status["serving_agents"], status["supervisors_connected"]) == (
        False,
        1,
        1,
    )
    waiting_chat = await server.customer()
    await agent.expect("assigned", chat_id=waiting_chat.chat_id)

    await agent.send({"type": "status", "status": "away"})
    alert = await supervisor.expect("alert", kind="desk_unattended")
    assert alert["at"] == "2026-01-05T09:00:00Z"
    assert (await desk(server))["unattended"] is True

    # A new customer now hears at once that nobody is online.
    late = await server.customer()
    await late.expect("message", template="welcome")
    await late.expect("message", template="nobody_online")

    await agent.send({"type": "status", "status": "online"})
    await agent.until("assigned", chat_id=late.chat_id)
    assert (await desk(server))["unattended"] is False
    await supervisor.quiet()


async def test_last_agent_leaving_tells_the_waiting_customers(server: Server) -> None:
    agent = await server.agent(capacity=1)
    held = await server.customer()
    await agent.expect("assigned", chat_id=held.chat_id)
    waiting = await server.customer()
    await waiting.until("queue", position=1)
    await server.leave(agent)
    await waiting.until("message", template="nobody_online")
    # Past the grace period the held chat returns to the queue and hears it too, once.
    await server.advance(61)
    await held.until("message", template="returned_to_queue")
    await held.until("message", template="nobody_online")
    await waiting.expect("queue", position=2)  # moved behind; not told a second time
    await waiting.quiet()


@pytest.mark.parametrize("settings_overrides", [{"service_hours": "08:00-12:00,13:00-16:00"}])
async def test_empty_desk_outside_service_hours_is_no_alarm(server: Server) -> None:
    # 17:00 in Asia/Shanghai: outside both windows.
    status = await desk(server)
    assert (status["unattended"], status["in_service_hours"]) == (False, False)
    supervisor = await server.agent("主管", "9001", role="supervisor", status="away")
    agent = await server.agent("甲", "2001")
    await agent.send({"type": "status", "status": "offline"})
    await agent.until("status")
    await supervisor.quiet()
    # Customers are still told nobody is online: the callback promise holds at any hour.
    customer = await server.customer()
    await customer.expect("message", template="welcome")
    await customer.expect("message", template="nobody_online")


@pytest.mark.parametrize(
    "settings_overrides", [{"service_hours": "21:00-18:00", "timezone": "Asia/Shanghai"}]
)
async def test_service_hours_may_cross_midnight(server: Server) -> None:
    assert (await desk(server))["in_service_hours"] is True  # 17:00 is inside 21:00→18:00
    server.clock.advance(2 * 3600)  # 19:00
    assert (await desk(server))["in_service_hours"] is False

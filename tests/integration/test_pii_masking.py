"""S-privacy: personal information is masked per role (docs/privacy.md); the agent serving the
chat still reads what the customer wrote."""

from __future__ import annotations

from service.clock import ManualClock
from tests.integration.test_transfers import held_by
from tests.support.server import Server, running_server, test_settings

PHONE, MASKED_PHONE = "13800138000", "138****8000"
ID_CARD = "11010519491231002X"


async def bearer(server: Server, role: str) -> dict[str, str]:
    made = await server.http.post("/api/v1/tokens", json={"name": f"质检-{role}", "role": role})
    return {"Authorization": f"Bearer {made.json()['token']}"}


async def test_a_transcript_is_masked_for_supervisors_and_agents_not_for_admins(
    server: Server,
) -> None:
    agent = await server.agent()
    customer = await held_by(server, agent)
    await customer.say(f"我的手机号是{PHONE},身份证{ID_CARD},订单2026010312345")
    # The socket is untouched: the serving agent sees the number as written.
    line = await agent.until("message", sender="customer")
    assert PHONE in line["text"] and ID_CARD in line["text"]
    path = f"/api/v1/chats/{customer.chat_id}"

    def texts(answer: dict[str, object]) -> str:
        return " ".join(m["text"] for m in answer["messages"])  # type: ignore[attr-defined]

    admin = texts((await server.http.get(path)).json())
    assert PHONE in admin and ID_CARD in admin
    for headers in (
        await bearer(server, "supervisor"),
        {"Authorization": f"Bearer {agent.info['token']}"},
    ):
        reply = await server.http.get(path, headers=headers)
        assert reply.status_code == 200
        shown = texts(reply.json())
        assert PHONE not in shown and ID_CARD not in shown
        assert MASKED_PHONE in shown and "1****************X" in shown
        assert "2026010312345" in shown  # an order number is not personal information


async def test_complaints_and_their_export_are_masked_without_pii(server: Server) -> None:
    customer = await server.customer()
    await customer.send({"type": "complain", "topic": "recharge", "text": f"请打{PHONE}联系我"})
    await customer.until("message", template="complaint_ack")
    supervisor = await bearer(server, "supervisor")
    [row] = (await server.http.get("/api/v1/complaints", headers=supervisor)).json()["items"]
    assert PHONE not in str(row) and MASKED_PHONE in row["summary"]
    detail = (await server.http.get(f"/api/v1/complaints/{row['id']}", headers=supervisor)).json()
    assert PHONE not in str(detail)
    exported = await server.http.get("/api/v1/complaints/export.csv", headers=supervisor)
    assert exported.status_code == 200
    assert PHONE not in exported.text and MASKED_PHONE in exported.text
    # Admins hold the pii permission: the record is whole (S-record).
    [clear] = (await server.http.get("/api/v1/complaints")).json()["items"]
    assert PHONE in clear["summary"]
    assert PHONE in (await server.http.get("/api/v1/complaints/export.csv")).text


async def test_a_leave_message_contact_is_masked_for_supervisors(server: Server) -> None:
    customer = await server.customer()
    await customer.send({"type": "leave_message", "contact": "138 0013 8000", "text": "请回电"})
    await customer.until("message", template="leave_message_ack")
    supervisor = await bearer(server, "supervisor")
    [item] = (await server.http.get("/api/v1/callbacks", headers=supervisor)).json()["items"]
    assert item["contact"] == "138 **** 8000"
    one = await server.http.get(f"/api/v1/callbacks/{item['id']}", headers=supervisor)
    assert one.json()["contact"] == "138 **** 8000"
    [clear] = (await server.http.get("/api/v1/callbacks")).json()["items"]
    assert clear["contact"] == "138 0013 8000"


async def test_supervisors_see_in_clear_with_supervisor_pii_on(database_url: str) -> None:
    settings = test_settings(database_url, supervisor_pii=True)
    async with running_server(settings, ManualClock()) as server:
        customer = await server.customer()
        await customer.send({"type": "leave_message", "contact": PHONE, "text": "请回电"})
        await customer.until("message", template="leave_message_ack")
        supervisor = await bearer(server, "supervisor")
        [item] = (await server.http.get("/api/v1/callbacks", headers=supervisor)).json()["items"]
        assert item["contact"] == PHONE
        # Agents never hold pii: their own chats still come masked.
        agent = await server.agent()
        served = await held_by(server, agent)
        await served.say(f"手机{PHONE}")
        mine = {"Authorization": f"Bearer {agent.info['token']}"}
        answer = await server.http.get(f"/api/v1/chats/{served.chat_id}", headers=mine)
        assert MASKED_PHONE in str(answer.json()) and PHONE not in str(answer.json())

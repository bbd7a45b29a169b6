"""The audit log: every admin or supervisor change is one row (who, role, when, action,
target, before → after), written with the change or not at all; read with filters."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import delete, update
from sqlalchemy.exc import DBAPIError

from service.db.models import AuditEntry
from tests.support.complaints import complain, row_of
from tests.support.server import Server


async def audit(server: Server, **params: Any) -> list[dict[str, Any]]:
    response = await server.http.get("/api/v1/audit", params={"limit": 500, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def last(server: Server, action: str) -> dict[str, Any]:
    rows = await audit(server, action=action)
    assert rows, f"no audit row for {action}"
    return rows[0]


async def test_agent_changes_are_audited_without_their_secrets(server: Server) -> None:
    created = await server.new_agent("小王", "1001", capacity=3)
    await server.http.patch(f"/api/v1/agents/{created['id']}", json={"capacity": 4, "name": "王"})
    await server.http.post(f"/api/v1/agents/{created['id']}/token")
    await server.http.delete(f"/api/v1/agents/{created['id']}/token")

    same = await server.http.patch(f"/api/v1/agents/{created['id']}", json={"capacity": 4})
    assert same.status_code == 200  # nothing changed: no row

    rows = await audit(server, target_type="agent", target_id=str(created["id"]))
    assert [row["action"] for row in rows] == [
        "agent.token_revoke",
        "agent.token_rotate",
        "agent.update",
        "agent.create",
    ]
    update = rows[2]
    assert (update["before"], update["after"]) == (
        {"name": "小王", "capacity": 3},
        {"name": "王", "capacity": 4},
    )
    assert (update["actor"], update["actor_role"]) == ("KEFU_ADMIN_TOKEN", "admin")
    assert update["at"] == server.clock.now().isoformat().replace("+00:00", "Z")
    assert rows[3]["before"] is None and rows[3]["after"]["employee_no"] == "1001"
    assert "token_hash" not in str(rows) and created["token"] not in str(rows)


async def test_group_customer_and_template_changes_are_audited(server: Server) -> None:
    agent = await server.new_agent("小王", "1001")
    await server.group("billing", "充值")
    await server.http.patch("/api/v1/groups/billing", json={"title": "充值组"})
    await server.join("billing", agent["id"])
    await server.http.delete(f"/api/v1/groups/billing/agents/{agent['id']}")
    groups = await audit(server, action="group")
    assert [(row["action"], row["after"]) for row in groups] == [
        ("group.remove_agent", {"agents": []}),
        ("group.add_agent", {"agents": [agent["id"]]}),
        ("group.update", {"title": "充值组"}),
        ("group.create", {"name": "billing", "title": "充值", "agents": []}),
    ]
    assert {row["target_id"] for row in groups} == {"billing"}

    customer = await server.customer()
    [card] = (await server.http.get("/api/v1/customers")).json()["items"]
    await server.http.patch(f"/api/v1/customers/{card['id']}", json={"sensitive": True})
    flagged = await last(server, "customer.update")
    assert (flagged["target_type"], flagged["target_id"]) == ("customer", str(card["id"]))
    assert (flagged["before"], flagged["after"]) == ({"sensitive": False}, {"sensitive": True})
    await customer.close()

    await server.http.put("/api/v1/templates/welcome", json={"text": "欢迎来到{brand}"})
    await server.http.delete("/api/v1/templates/welcome")
    put, reset = await last(server, "template.put"), await last(server, "template.reset")
    assert put["target_id"] == "welcome/zh-CN"
    assert put["after"] == {"text": "欢迎来到{brand}", "overridden": True}
    assert reset["after"]["overridden"] is False


async def test_token_changes_are_audited_with_the_prefix_only(server: Server) -> None:
    token = (await server.http.post("/api/v1/tokens", json={"name": "质检-张"})).json()
    await server.http.post(f"/api/v1/tokens/{token['id']}/rotate")
    await server.http.delete(f"/api/v1/tokens/{token['id']}")
    await server.http.delete(f"/api/v1/tokens/{token['id']}")  # no change, no row
    rows = await audit(server, action="token")
    assert [row["action"] for row in rows] == ["token.revoke", "token.rotate", "token.create"]
    assert rows[2]["after"]["prefix"] == token["prefix"]
    assert rows[1]["before"]["prefix"] == token["prefix"] != rows[1]["after"]["prefix"]
    assert token["token"] not in str(rows)


async def test_complaint_work_by_a_supervisor_is_audited_under_their_name(server: Server) -> None:
    lead = (await server.http.post("/api/v1/tokens", json={"name": "质检-张"})).json()
    as_lead = {"Authorization": f"Bearer {lead['token']}"}
    customer = await complain(server)
    complaint = await row_of(server, customer.chat_id)
    for status in ("acknowledged", "resolved"):
        response = await server.http.patch(
            f"/api/v1/complaints/{complaint['id']}",
            json={"status": status, "comment": "已核实"},
            headers=as_lead,
        )
        assert response.status_code == 200, response.text
    response = await server.http.post(
        f"/api/v1/complaints/{complaint['id']}/follow-up",
        json={"result": "satisfied", "note": "已回访"},
        headers=as_lead,
    )
    assert response.status_code == 200, response.text

    rows = await audit(server, target_type="complaint", target_id=str(complaint["id"]))
    assert [row["action"] for row in rows] == [
        "complaint.follow_up",
        "complaint.update",
        "complaint.update",
    ]
    assert {(row["actor"], row["actor_role"], row["actor_token_id"]) for row in rows} == {
        ("质检-张", "supervisor", lead["id"])
    }
    acknowledged = rows[2]
    assert acknowledged["before"]["status"] == "open"
    assert acknowledged["after"]["status"] == "acknowledged"
    assert acknowledged["after"]["comment"] == "已核实"
    assert rows[0]["after"]["status"] == "followed_up"
    # The complaint's own history names the same supervisor.
    detail = (await server.http.get(f"/api/v1/complaints/{complaint['id']}")).json()
    assert "supervisor:质检-张" in {event["actor"] for event in detail["history"]}


async def test_a_callback_done_and_a_forced_close_are_audited(server: Server) -> None:
    customer = await server.customer()
    await customer.send({"type": "leave_message", "contact": "138 0013 8000", "text": "请回电"})
    await customer.until("message", template="leave_message_ack")
    [callback] = (await server.http.get("/api/v1/callbacks")).json()["items"]
    await server.http.patch(
        f"/api/v1/callbacks/{callback['id']}", json={"status": "done", "outcome": "已回电"}
    )
    done = await last(server, "callback.complete")
    assert (done["target_type"], done["target_id"]) == ("callback", str(callback["id"]))
    assert done["before"]["status"] == "open"
    assert (done["after"]["status"], done["after"]["outcome"]) == ("done", "已回电")

    agent = await server.agent()
    other = await server.customer()
    await agent.until("assigned", chat_id=other.chat_id)
    closed = await server.http.post(f"/api/v1/chats/{other.chat_id}/close")
    assert (closed.status_code, closed.json()["closed_by"]) == (200, "system")
    await other.until("message", template="closing")
    await other.until("closed", by="system")
    await agent.until("closed", chat_id=other.chat_id, by="system")
    forced = await last(server, "chat.force_close")
    assert forced["target_id"] == str(other.chat_id)
    assert (forced["before"]["status"], forced["after"]["status"]) == ("assigned", "closed")
    again = await server.http.post(f"/api/v1/chats/{other.chat_id}/close")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert (await server.http.post("/api/v1/chats/999999/close")).status_code == 404


async def test_a_refused_change_leaves_no_audit_row(server: Server) -> None:
    await server.new_agent("小王", "1001")
    duplicate = await server.http.post("/api/v1/agents", json={"name": "x", "employee_no": "1001"})
    assert duplicate.status_code == 409
    missing = await server.http.patch("/api/v1/agents/999", json={"capacity": 2})
    assert missing.status_code == 404
    assert [row["action"] for row in await audit(server)] == ["agent.create"]
    assert len(await server.rows(AuditEntry.__table__.select())) == 1  # type: ignore[arg-type]


async def test_the_audit_log_filters_and_pages(server: Server) -> None:
    lead = (await server.http.post("/api/v1/tokens", json={"name": "质检-张"})).json()
    started = server.clock.now()
    for n in range(3):
        await server.new_agent(f"坐席{n}", f"20{n}")
        server.clock.advance(60)
    assert len(await audit(server, actor="KEFU_ADMIN_TOKEN")) == 4
    assert await audit(server, actor="质检-张") == []
    assert len(await audit(server, actor_role="admin", action="agent.create")) == 3
    assert await audit(server, action="agent.crea") == [], "a prefix only matches a whole kind"
    window = await audit(
        server,
        since=(started + (server.clock.now() - started) / 3).isoformat(),
        until=server.clock.now().isoformat(),
    )
    assert [row["after"]["name"] for row in window] == ["坐席2", "坐席1"]
    page = (await server.http.get("/api/v1/audit", params={"limit": 2, "offset": 1})).json()
    assert (page["total"], page["limit"], page["offset"], len(page["items"])) == (4, 2, 1, 2)
    assert page["items"][0]["after"]["name"] == "坐席1"
    assert lead["token"] not in str(await audit(server))
    naive = await server.http.get("/api/v1/audit", params={"since": "2026-01-01T00:00:00"})
    assert naive.status_code == 422


async def test_the_audit_log_cannot_be_changed_over_the_api_nor_in_the_database(
    server: Server,
) -> None:
    await server.new_agent("小王", "1001")
    [row] = await audit(server)
    for method in ("PATCH", "PUT", "DELETE"):
        response = await server.http.request(method, f"/api/v1/audit/{row['id']}", json={})
        assert response.status_code in (404, 405)
    for statement in (
        update(AuditEntry).values(actor="someone else"),
        delete(AuditEntry),
    ):
        with pytest.raises(DBAPIError, match="audit_log is append-only"):
            async with server.runtime.units() as work:
                await work.session.execute(statement)
    assert await audit(server) == [row]


async def test_a_promise_kept_over_the_api_is_audited(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    due = "2026-01-05T18:00:00+08:00"  # an hour after the test clock's start
    await agent.send(
        {"type": "promise", "chat_id": customer.chat_id, "kind": "callback", "due_at": due}
    )
    card = (await agent.until("promise", event="made"))["promise"]
    kept = await server.http.patch(
        f"/api/v1/promises/{card['id']}", json={"state": "done", "outcome": "答复了"}
    )
    assert kept.status_code == 200, kept.text
    row = await last(server, "promise.complete")
    assert (row["target_type"], row["target_id"]) == ("promise", str(card["id"]))
    assert row["before"]["state"] == "open"
    assert (row["after"]["state"], row["after"]["outcome"]) == ("done", "答复了")

"""The admin API for agents: created with a token shown once, changed, disabled, re-keyed."""

from __future__ import annotations

from service.db.models import Agent
from tests.support.server import Peer, Server


async def test_agent_token_is_returned_once_and_only_its_hash_is_stored(server: Server) -> None:
    created = await server.new_agent("小王", "1001", capacity=3)
    assert created["token"].startswith("kfa_")
    assert created["capacity"] == 3
    listed = (await server.http.get("/api/v1/agents")).json()
    assert "token" not in listed[0]
    async with server.runtime.units.read() as session:
        stored = await session.get(Agent, created["id"])
        assert stored is not None
        assert created["token"] not in stored.token_hash


async def test_admin_api_refuses_missing_or_wrong_token(server: Server) -> None:
    for headers in ({"Authorization": ""}, {"Authorization": "Bearer nope"}):
        response = await server.http.get("/api/v1/agents", headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "unauthorized"


async def test_bad_agent_input_is_a_problem_not_a_500(server: Server) -> None:
    response = await server.http.post("/api/v1/agents", json={"name": "", "employee_no": "x y"})
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"
    await server.new_agent("小王", "1001")
    duplicate = await server.http.post(
        "/api/v1/agents", json={"name": "另一个", "employee_no": "1001"}
    )
    assert duplicate.status_code == 409
    missing = await server.http.patch("/api/v1/agents/999", json={"capacity": 2})
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"


async def test_disabling_an_agent_signs_them_out_and_requeues_chats(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")

    agent_id = agent.info["agent"]["id"]
    response = await server.http.patch(f"/api/v1/agents/{agent_id}", json={"active": False})
    assert response.json()["active"] is False
    await agent.until("signed_out", reason="disabled")
    assert await agent.closed_with() == 4403
    await customer.until("message", template="returned_to_queue")
    await customer.until("queue", position=1)


async def test_raising_capacity_pulls_waiting_chats(server: Server) -> None:
    agent = await server.agent(capacity=1)
    first = await server.customer()
    await agent.expect("assigned", chat_id=first.chat_id)
    second = await server.customer()
    await second.until("queue", position=1)
    agent_id = agent.info["agent"]["id"]
    response = await server.http.patch(f"/api/v1/agents/{agent_id}", json={"capacity": 2})
    assert response.json()["open_chats"] == 2
    await agent.until("assigned", chat_id=second.chat_id)


async def test_replacing_a_token_closes_the_old_session(server: Server) -> None:
    agent = await server.agent()
    agent_id = agent.info["agent"]["id"]
    response = await server.http.post(f"/api/v1/agents/{agent_id}/token")
    new_token = response.json()["token"]
    await agent.until("signed_out", reason="token_replaced")
    old = Peer(await server.connect("/ws/agent"))
    await old.send({"type": "hello", "token": agent.info["token"]})
    assert await old.closed_with() == 4403
    fresh = await server.agent_socket(new_token)
    assert fresh.info["agent"]["id"] == agent_id

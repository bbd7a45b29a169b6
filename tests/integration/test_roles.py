"""The role × route matrix (docs/admin.md): every /api/v1 route has a rule, and each role gets
through (neither 401 nor 403), or a 403 problem, exactly as service/api/roles.py says."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from service.api.roles import ROUTES
from service.tokens.service import Role
from tests.support.server import ADMIN_TOKEN, Server

PROBLEM = "application/problem+json"
# Path parameters that name nothing: an allowed call answers 404/422, and changes nothing.
PARAMS = {"name": "no-such-group", "key": "no_such_template"}


@dataclass
class Tokens:
    by_role: dict[str, str]  # a token of each kind of caller
    agent_id: int


async def tokens_of_every_kind(server: Server) -> Tokens:
    supervisor = (
        await server.http.post("/api/v1/tokens", json={"name": "质检-张", "role": "supervisor"})
    ).json()
    admin = (
        await server.http.post("/api/v1/tokens", json={"name": "运维", "role": "admin"})
    ).json()
    desk_lead = await server.new_agent("主管", "9001", role="supervisor")
    agent = await server.new_agent("小王", "9002")
    return Tokens(
        {
            "KEFU_ADMIN_TOKEN": ADMIN_TOKEN,
            "admin": admin["token"],
            "supervisor": supervisor["token"],
            "supervisor agent": desk_lead["token"],
            "agent": agent["token"],
        },
        agent["id"],
    )


# What each kind of token signs in as.
ROLE_OF = {
    "KEFU_ADMIN_TOKEN": Role.admin,
    "admin": Role.admin,
    "supervisor": Role.supervisor,
    "supervisor agent": Role.supervisor,
    "agent": Role.agent,
}


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: PARAMS.get(m.group(1), "999999"), template)


async def call(server: Server, method: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}" if token is not None else ""}
    body = {} if method in ("POST", "PUT", "PATCH") else None
    return await server.http.request(method, path, headers=headers, json=body)


async def test_every_api_route_has_exactly_one_rule(server: Server) -> None:
    schema = (await server.http.get("/openapi.json")).json()
    documented = {
        (method.upper(), path)
        for path, methods in schema["paths"].items()
        if path.startswith("/api/v1")
        for method in methods
    }
    assert documented - ROUTES.keys() == set(), "routes without a rule in service/api/roles.py"
    assert ROUTES.keys() - documented == set(), "rules for routes that do not exist"


async def test_the_role_matrix_holds_on_every_route(server: Server) -> None:
    tokens = await tokens_of_every_kind(server)
    wrong: list[str] = []
    for (method, template), rule in sorted(ROUTES.items()):
        path = concrete(template)
        for token in (None, "kfadm_not-a-token"):
            response = await call(server, method, path, token)
            if response.status_code != 401 or response.headers["content-type"] != PROBLEM:
                wrong.append(f"{method} {template} token={token}: {response.status_code}")
        for kind, token in tokens.by_role.items():
            response = await call(server, method, path, token)
            allowed = rule.allows(ROLE_OF[kind])
            if allowed and response.status_code in (401, 403):
                wrong.append(f"{method} {template} {kind}: refused {response.status_code}")
            if allowed and response.status_code >= 500:
                wrong.append(f"{method} {template} {kind}: {response.status_code}")
            if not allowed and (
                response.status_code != 403
                or response.headers["content-type"] != PROBLEM
                or response.json()["code"] != "forbidden"
            ):
                wrong.append(f"{method} {template} {kind}: let through {response.status_code}")
    assert wrong == []


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/api/v1/chats", {"admin", "supervisor", "agent"}),
        ("GET", "/api/v1/complaints", {"admin", "supervisor"}),
        ("PATCH", "/api/v1/complaints/{complaint_id}", {"admin", "supervisor"}),
        ("POST", "/api/v1/agents", {"admin"}),
        ("PUT", "/api/v1/templates/{key}", {"admin"}),
        ("POST", "/api/v1/tokens", {"admin"}),
        ("GET", "/api/v1/audit", {"admin"}),
    ],
)
def test_the_table_says_what_the_issue_asks(method: str, path: str, allowed: set[str]) -> None:
    """Agents their own, supervisors the desk and the complaint table, admins the rest."""
    rule = ROUTES[method, path]
    assert {role.value for role in Role if rule.allows(role)} == allowed


async def test_a_refused_role_is_refused_before_its_body_is_read(server: Server) -> None:
    tokens = await tokens_of_every_kind(server)
    response = await server.http.post(
        "/api/v1/agents",
        content=b"{not json",
        headers={
            "Authorization": f"Bearer {tokens.by_role['agent']}",
            "Content-Type": "application/json",
        },
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "the agent role may not use POST /api/v1/agents"


async def test_an_agent_sees_only_their_own_chats_and_reports(server: Server) -> None:
    mine = await server.agent("小王", "2001", capacity=1)
    other = await server.agent("小李", "2002", capacity=1)
    first, second = await server.customer(), await server.customer()
    held = {
        (await mine.until("assigned"))["chat_id"]: "mine",
        (await other.until("assigned"))["chat_id"]: "other",
    }
    assert set(held) == {first.chat_id, second.chat_id}
    my_chat = next(chat for chat, whose in held.items() if whose == "mine")
    their_chat = next(chat for chat, whose in held.items() if whose == "other")
    me = {"Authorization": f"Bearer {mine.info['token']}"}

    listed = (await server.http.get("/api/v1/chats", headers=me)).json()
    assert [chat["id"] for chat in listed["items"]] == [my_chat]
    # Asking for another agent's chats gives nothing of theirs.
    other_id = other.info["agent"]["id"]
    theirs = await server.http.get("/api/v1/chats", params={"agent_id": other_id}, headers=me)
    assert theirs.json()["items"] == []
    assert (await server.http.get(f"/api/v1/chats/{my_chat}", headers=me)).status_code == 200
    hidden = await server.http.get(f"/api/v1/chats/{their_chat}", headers=me)
    assert (hidden.status_code, hidden.json()["code"]) == (404, "not_found")
    # The supervisor's view has both.
    everything = (await server.http.get("/api/v1/chats")).json()
    assert {chat["id"] for chat in everything["items"]} == {my_chat, their_chat}

    await mine.say(my_chat, "您好")
    await other.say(their_chat, "您好")
    report = await server.http.get(
        "/api/v1/reports/reply-times", params={"agent_id": other_id}, headers=me
    )
    assert report.status_code == 200
    assert [row["agent_id"] for row in report.json()["agents"]] == [mine.info["agent"]["id"]]


async def test_a_supervisor_signs_in_with_their_own_agent_token(server: Server) -> None:
    lead = await server.supervisor()
    headers = {"Authorization": f"Bearer {lead.info['token']}"}
    assert (await server.http.get("/api/v1/complaints", headers=headers)).status_code == 200
    refused = await server.http.post("/api/v1/groups", json={"name": "billing"}, headers=headers)
    assert refused.status_code == 403
    assert refused.json()["detail"] == "the supervisor role may not use POST /api/v1/groups"

"""Input that cannot hurt: whatever a client sends, it gets a typed answer, the socket goes on
(or closes with its documented code) and nothing is stored. docs/protocol.md, "Validation".
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from service.clock import ManualClock
from service.db.models import Base
from tests.support.server import (
    ADMIN_TOKEN,
    TIMEOUT,
    Agent,
    Customer,
    Peer,
    Server,
    running_server,
    test_settings,
)

NUL = "\x00"
LONE = "\ud800"


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    faults = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert not faults, [r.getMessage() for r in faults]


async def stored(server: Server) -> dict[str, int]:
    """Rows per table: what "nothing is stored" is checked against."""
    async with server.runtime.units.read() as session:
        return {
            table.name: (await session.scalar(select(func.count()).select_from(table))) or 0
            for table in Base.metadata.sorted_tables
        }


@pytest.fixture
async def desk(server: Server) -> AsyncIterator[tuple[Customer, Agent]]:
    """One customer in a chat with one agent; everything they said is stored."""
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await agent.say(customer.chat_id, "您好")
    await customer.until("message", sender="agent")
    yield customer, agent


async def refused(
    server: Server, peer: Peer, frame: dict[str, Any] | str, code: str = "bad_frame"
) -> dict[str, Any]:
    before = await stored(server)
    await peer.send(frame)
    error = await peer.until("error")
    assert error["code"] == code, error
    assert await stored(server) == before
    return error


async def still_works(customer: Customer, agent: Agent | None = None) -> None:
    assert (await customer.say("还在吗"))["seq"] > 0
    if agent is not None:
        await agent.say(customer.chat_id, "在的")


# -- the frames ------------------------------------------------------------------------------


async def test_json_nested_a_thousand_deep_is_a_bad_frame(
    server: Server, desk: tuple[Customer, Agent]
) -> None:
    customer, agent = desk
    deep = '{"type": "typing", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    await refused(server, customer, deep)
    await refused(server, agent, deep.replace('"typing"', '"status"'))
    await still_works(customer, agent)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message", "client_id": "n1", "text": f"a{NUL}b"},
        {"type": "rate", "score": 7, "comment": f"好{NUL}"},
        {"type": "leave_message", "contact": f"138{NUL}", "text": "回电"},
        {"type": "complain", "topic": f"recharge{NUL}", "text": "没到账"},
    ],
)
async def test_nul_in_any_customer_field_is_refused(
    server: Server, desk: tuple[Customer, Agent], frame: dict[str, Any]
) -> None:
    customer, _ = desk
    await refused(server, customer, frame)
    await still_works(customer)


@pytest.mark.parametrize(
    "fields",
    [
        {"type": "template", "key": "welcome", "vars": {"name": f"x{NUL}"}},
        {"type": "template", "key": "welcome", "vars": {f"k{NUL}": "x"}},
        {"type": "transfer", "to_group": f"billing{NUL}", "note": "转账务"},
        {"type": "dismiss_complaint", "complaint_id": 1, "comment": f"误报{NUL}"},
        {"type": "complaint", "topic": "recharge", "summary": "s", "facts": {"a": NUL}},
        {"type": "note", "text": f"内部{NUL}"},
    ],
)
async def test_nul_in_any_agent_field_is_refused(
    server: Server, desk: tuple[Customer, Agent], fields: dict[str, Any]
) -> None:
    customer, agent = desk
    await refused(server, agent, {"chat_id": customer.chat_id, **fields})
    await still_works(customer, agent)


async def test_lone_surrogate_client_id_gets_an_error_without_ref_and_the_socket_still_works(
    server: Server, desk: tuple[Customer, Agent]
) -> None:
    customer, agent = desk
    error = await refused(server, customer, {"type": "message", "client_id": LONE, "text": "hi"})
    assert "ref" not in error
    error = await refused(
        server,
        agent,
        {"type": "message", "chat_id": customer.chat_id, "client_id": LONE, "text": 1},
    )
    assert "ref" not in error
    # A clean client_id is still echoed when something else in the frame is wrong.
    error = await refused(server, customer, {"type": "message", "client_id": "ok", "text": LONE})
    assert error["ref"] == "ok"
    await still_works(customer, agent)


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999", "-1e999"])
async def test_non_finite_numbers_are_refused(
    server: Server, desk: tuple[Customer, Agent], number: str
) -> None:
    customer, agent = desk
    await refused(server, customer, '{"type": "rate", "score": %s}' % number)  # noqa: UP031
    await refused(
        server,
        agent,
        '{"type": "correct", "chat_id": %d, "seq": %s, "text": "x"}'  # noqa: UP031
        % (customer.chat_id, number),
    )
    await still_works(customer, agent)


async def test_integers_beyond_their_columns_are_refused(
    server: Server, desk: tuple[Customer, Agent]
) -> None:
    customer, agent = desk
    chat_id = customer.chat_id
    for frame in (
        {"type": "correct", "chat_id": chat_id, "seq": 2**63, "text": "更正"},
        {"type": "correct", "chat_id": chat_id, "seq": 10**400, "text": "更正"},
        {"type": "transfer", "chat_id": chat_id, "to_agent": 2**63, "note": "转"},
        {"type": "message", "chat_id": 2**64, "client_id": "big", "text": "x"},
        {"type": "dismiss_complaint", "complaint_id": -(2**70)},
    ):
        await refused(server, agent, frame)
    await refused(server, customer, {"type": "rate", "score": 2**64})
    await still_works(customer, agent)


async def test_a_seq_past_32_bits_is_a_typed_answer_on_every_backend(
    server: Server, desk: tuple[Customer, Agent]
) -> None:
    customer, agent = desk
    chat_id = customer.chat_id
    # Valid by the contract (seqs are BIGINT): the database must take the number, not fail.
    frame = {"type": "correct", "chat_id": chat_id, "seq": 2**31, "text": "更正"}
    await refused(server, agent, frame, code="not_your_message")
    frame = {"type": "transfer", "chat_id": chat_id, "to_agent": 2**40, "note": "转"}
    error = await refused(server, agent, frame, code="transfer_refused")
    assert error["reason"] == "unknown_agent"
    await still_works(customer, agent)


async def test_an_agent_resume_with_an_oversized_seq_is_an_invalid_hello(server: Server) -> None:
    created = await server.new_agent("小李", "5001")
    peer = Peer(await server.connect("/ws/agent"))
    await peer.send({"type": "hello", "token": created["token"], "resume": {"1": 2**63}})
    assert await peer.closed_with() == 4401


# -- the hello ---------------------------------------------------------------------------------


async def hello_closes(
    server: Server, hello: dict[str, Any] | str, path: str = "/ws/customer"
) -> int | None:
    before = await stored(server)
    peer = Peer(await server.connect(path))
    await peer.send(hello)
    code = await peer.closed_with()
    assert await stored(server) == before
    return code


@pytest.mark.parametrize(
    "hello",
    [
        {"type": "hello", "group": f"billing{NUL}"},
        {"type": "hello", "locale": f"zh{NUL}"},
        {"type": "hello", "resume": {"token": "t", "last_seq": 2**63}},
        '{"type": "hello", "x": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"type": "hello", "resume": {"token": "t", "last_seq": NaN}}',
    ],
)
async def test_a_hostile_hello_closes_4401_and_stores_nothing(
    server: Server, hello: dict[str, Any] | str
) -> None:
    assert await hello_closes(server, hello) == 4401


async def test_nul_in_a_signed_player_name_closes_4401(server: Server) -> None:
    claim = server.player("p-1", f"玩家{NUL}")  # signed: the signature is not the problem
    assert await hello_closes(server, {"type": "hello", "player": claim}) == 4401


@pytest.mark.parametrize("sig", ["签名不对", "é" * 64, "０" * 64])
async def test_a_non_ascii_signature_closes_4403(server: Server, sig: str) -> None:
    claim = {**server.player("p-1"), "sig": sig}
    assert await hello_closes(server, {"type": "hello", "player": claim}) == 4403


async def test_a_timestamp_past_any_date_closes_4401(server: Server) -> None:
    claim = {**server.player("p-1"), "ts": 10**400}
    assert await hello_closes(server, {"type": "hello", "player": claim}) == 4401
    claim = {**server.player("p-1"), "ts": 2**62}
    assert await hello_closes(server, {"type": "hello", "player": claim}) == 4401


async def test_a_far_future_timestamp_closes_4403(server: Server) -> None:
    claim = {**server.player("p-1"), "ts": 2**35}
    assert await hello_closes(server, {"type": "hello", "player": claim}) == 4403


async def test_a_hostile_agent_hello_closes_4401(server: Server) -> None:
    hello = {"type": "hello", "token": f"kfa_{LONE}"}
    assert await hello_closes(server, hello, "/ws/agent") == 4401


# -- the admin API -----------------------------------------------------------------------------


def is_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("GET", "/api/v1/chats?offset=10000000000000000000"),
        ("GET", "/api/v1/chats?agent_id=9223372036854775808"),
        ("GET", "/api/v1/chats/9223372036854775808"),
        ("GET", "/api/v1/chats/-1"),
        ("PATCH", "/api/v1/agents/9223372036854775808"),
        ("POST", "/api/v1/agents/9223372036854775808/token"),
        ("GET", "/api/v1/callbacks?offset=10000000000000000000"),
        ("GET", "/api/v1/callbacks/9223372036854775808"),
        ("GET", "/api/v1/customers?offset=10000000000000000000"),
        ("GET", "/api/v1/customers/9223372036854775808"),
        ("GET", "/api/v1/complaints/9223372036854775808"),
        ("PUT", "/api/v1/groups/billing/agents/9223372036854775808"),
        ("GET", "/api/v1/reports/reply-times?agent_id=9223372036854775808"),
        ("GET", "/api/v1/groups/bill%00ing"),
        ("GET", "/api/v1/templates/welcome?locale=zh%00"),
        ("GET", "/api/v1/complaints?player_id=%ff"),
    ],
)
async def test_out_of_range_parameters_are_422_not_500(
    server: Server, method: str, url: str
) -> None:
    before = await stored(server)
    body = {"active": True} if method == "PATCH" else None
    response = await server.http.request(method, url, json=body)
    assert is_problem(response, 422)["code"] == "invalid_request"
    assert await stored(server) == before


HOSTILE_PARAMETERS = ("9223372036854775808", "-1", "%00", "x" * 300, "%ff", "1e3", "NaN")


async def test_no_admin_route_answers_500_to_a_hostile_parameter(server: Server) -> None:
    """Every route in the schema, every path and query parameter in turn, hostile values."""
    spec = (await server.http.get("/openapi.json")).json()
    before = await stored(server)
    faults = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            queries = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for value in HOSTILE_PARAMETERS:
                plain = re.sub(r"\{[^}]+\}", "1", path)
                urls = [re.sub(r"\{[^}]+\}", value, path)]
                urls += [f"{plain}?{name}={value}" for name in queries]
                for url in urls:
                    response = await server.http.request(method.upper(), url, json={})
                    if response.status_code >= 500:
                        faults.append((method, url[:60], response.status_code))
    assert not faults
    assert await stored(server) == before


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("POST", "/api/v1/groups", '{"name": "bill\\u0000ing", "title": "账务"}'),
        ("POST", "/api/v1/groups", '{"name": "billing", "title": "\\ud800"}'),
        ("POST", "/api/v1/groups", '{"name": "billing", "title": "账务", "x": NaN}'),
        ("POST", "/api/v1/groups", '{"name": "g", "title": ' + "[" * 1000 + "]" * 1000 + "}"),
        ("POST", "/api/v1/agents", '{"name": "小\\u0000王", "employee_no": "9"}'),
        ("PATCH", "/api/v1/complaints/1", '{"comment": "已回访\\u0000"}'),
        ("PATCH", "/api/v1/callbacks/1", '{"status": "done", "outcome": "\\u0000"}'),
        ("PUT", "/api/v1/templates/welcome", '{"text": "您好\\u0000"}'),
        ("PATCH", "/api/v1/agents/1", '{"capacity": 1e999}'),
    ],
)
async def test_a_body_no_field_may_hold_is_422_and_stores_nothing(
    server: Server, method: str, url: str, body: str
) -> None:
    await server.new_agent("小王", "1")
    before = await stored(server)
    headers = {"content-type": "application/json"}
    response = await server.http.request(method, url, content=body, headers=headers)
    problem = is_problem(response, 422)
    assert problem["code"] == "invalid_request"
    assert problem["errors"][0]["loc"][0] == "body"
    assert await stored(server) == before


async def raw_request(server: Server, head: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request on a plain socket: the server may answer before the body is sent."""
    address = urlsplit(server.url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(65536), TIMEOUT)
    finally:
        writer.close()
    status = int(answer.split(b" ", 2)[1])
    return status, answer


async def test_a_huge_body_is_refused_413_before_it_is_sent(server: Server) -> None:
    head = (
        "POST /api/v1/agents HTTP/1.1\nHost: kefu\nContent-Type: application/json\n"
        f"Content-Length: {100 * 1024 * 1024}\n"
    )
    status, answer = await raw_request(server, head, b'{"name": ')
    assert status == 413
    assert b"application/problem+json" in answer
    assert b"body_too_large" in answer


async def test_a_chunked_body_over_the_limit_is_413(server: Server) -> None:
    limit = server.runtime.settings.max_body_kb * 1024

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(limit // 65536 + 2):
            yield b" " * 65536

    response = await server.http.post(
        "/api/v1/groups", content=chunks(), headers={"content-type": "application/json"}
    )
    assert is_problem(response, 413)["code"] == "body_too_large"


async def test_without_a_token_a_body_is_never_read(server: Server) -> None:
    head = (
        "POST /api/v1/agents HTTP/1.1\nHost: kefu\nContent-Type: application/json\n"
        "Content-Length: 1000\n"
    )
    status, answer = await raw_request(server, head)  # the promised body never comes
    assert status == 401
    assert b"application/problem+json" in answer


@pytest.mark.parametrize("auth", [None, "Bearer wrong", "Basic eDp5"])
async def test_a_bad_body_without_a_valid_token_is_401_not_422(
    server: Server, auth: str | None
) -> None:
    headers = {"content-type": "application/json", "authorization": auth or ""}
    response = await server.http.post("/api/v1/agents", content="{not json", headers=headers)
    assert is_problem(response, 401)["code"] == "unauthorized"
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_good_request_still_works_through_the_gate(server: Server) -> None:
    created = await server.new_agent("小赵", "6001")
    assert created["token"].startswith("kfa_")


# -- the headers -------------------------------------------------------------------------------


async def test_every_answer_carries_the_security_headers(server: Server) -> None:
    for url in ("/healthz", "/console/", "/widget/", "/api/v1/agents", "/api/v1/nothing"):
        response = await server.http.get(url)
        assert response.headers["x-content-type-options"] == "nosniff", url
        assert response.headers["referrer-policy"] == "no-referrer", url
    assert (await server.http.get("/console/")).headers["x-frame-options"] == "DENY"
    assert (
        "frame-ancestors 'none'"
        in (await server.http.get("/console/")).headers["content-security-policy"]
    )
    assert (await server.http.get("/healthz")).headers["x-frame-options"] == "DENY"
    widget = await server.http.get("/widget/")
    assert "x-frame-options" not in widget.headers  # host sites frame it
    assert "frame-ancestors" not in widget.headers["content-security-policy"]


async def test_token_answers_are_never_cached(server: Server) -> None:
    response = await server.http.post("/api/v1/agents", json={"name": "小钱", "employee_no": "7"})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    rotated = await server.http.post(f"/api/v1/agents/{response.json()['id']}/token")
    assert rotated.headers["cache-control"] == "no-store"
    unauthorized = await server.http.get("/api/v1/agents", headers={"authorization": ""})
    assert unauthorized.headers["cache-control"] == "no-store"


async def test_client_input_is_escaped_in_logs(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    await server.customer(group="nope\n2026-12-03 INFO forged\x1b[31m")
    lines = [r.getMessage() for r in caplog.records if "unknown_group" in r.getMessage()]
    assert lines, "the unknown group is logged"
    assert all("\n" not in line and "\x1b" not in line for line in lines)


@pytest.fixture
async def locked_down(tmp_path: Path, database_url: str) -> AsyncIterator[Server]:
    settings = test_settings(
        database_url,
        docs_public=False,
        metrics_token="scrape-me",
        widget_frame_ancestors="https://game.example.com",
        max_body_kb=4,
    )
    async with running_server(settings, ManualClock()) as server:
        yield server


async def test_docs_metrics_and_framing_can_be_locked_down(locked_down: Server) -> None:
    http = locked_down.http
    for url in ("/docs", "/redoc", "/openapi.json"):
        assert (await http.get(url)).status_code == 404, url
    assert is_problem(await http.get("/metrics"), 401)["code"] == "unauthorized"
    scraped = await http.get("/metrics", headers={"authorization": "Bearer scrape-me"})
    assert scraped.status_code == 200
    assert "kefu" in scraped.text
    widget = await http.get("/widget/")
    assert "frame-ancestors https://game.example.com" in widget.headers["content-security-policy"]
    big = await http.post("/api/v1/groups", json={"name": "g", "title": "x" * 5000})
    assert is_problem(big, 413)["code"] == "body_too_large"


async def test_by_default_docs_and_metrics_are_open(server: Server) -> None:
    http = server.http
    for url in ("/docs", "/openapi.json", "/metrics"):
        assert (await http.get(url, headers={"authorization": ""})).status_code == 200, url
    assert ADMIN_TOKEN  # the admin API still needs its token
    assert (await http.get("/api/v1/agents", headers={"authorization": ""})).status_code == 401


async def test_a_hello_of_a_long_unknown_type_closes_4401(server: Server) -> None:
    # The close reason quotes the type: it must still fit the 123 bytes a close frame allows.
    assert await hello_closes(server, {"type": "长" * 60}) == 4401
    assert await hello_closes(server, {"type": "hello", "locale": "长" * 60}) == 4401

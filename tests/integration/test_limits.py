"""Limits, each with its error: a socket's rate, an address's sockets and new chats, failed
sign-ins, browser origins, the admin API's body (size and time).

The server trusts 127.0.0.1 as its proxy (KEFU_TRUSTED_PROXIES' default), so each test speaks
"from" an address of its own with X-Forwarded-For, as nginx would tell it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets

from service.clock import ManualClock
from tests.integration.test_metrics import sample
from tests.support.server import (
    ADMIN_TOKEN,
    TIMEOUT,
    Agent,
    Customer,
    Server,
    running_server,
    test_settings,
)


@asynccontextmanager
async def limited_server(
    database_url: str, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Server]:
    settings = test_settings(database_url, limits_exempt="", **overrides)
    async with running_server(settings, clock) as server:
        yield server


def at(address: str, **headers: str) -> dict[str, str]:
    return {"X-Forwarded-For": address, **headers}


async def customer_from(
    server: Server, address: str, *, ready: bool = True, **hello: Any
) -> Customer:
    ws = await websockets.connect(
        server.ws_url + "/ws/customer", additional_headers=at(address), open_timeout=TIMEOUT
    )
    peer = Customer(ws)
    server.peers.append(peer)
    with contextlib.suppress(websockets.ConnectionClosed):  # a socket refused at once
        await peer.send({"type": "hello", **hello})
    if ready:
        frame = await peer.expect("ready")
        peer.chat_id, peer.token = frame["chat_id"], frame["resume_token"]
    return peer


async def agent_from(server: Server, address: str, token: str) -> Agent:
    ws = await websockets.connect(
        server.ws_url + "/ws/agent", additional_headers=at(address), open_timeout=TIMEOUT
    )
    peer = Agent(ws)
    server.peers.append(peer)
    with contextlib.suppress(websockets.ConnectionClosed):
        await peer.send({"type": "hello", "token": token})
    return peer


async def test_a_real_desks_bursts_pass_with_the_defaults(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock) as server:
        agent = await agent_from(
            server, "198.51.100.1", (await server.new_agent("小王", "1001"))["token"]
        )
        await agent.expect("ready")
        customer = await customer_from(server, "203.0.113.1")
        await agent.until("assigned", chat_id=customer.chat_id)
        # A player hammering enter: 15 lines at once, every one stored.
        for i in range(15):
            await customer.send({"type": "message", "client_id": f"c{i}", "text": "在吗"})
        acks = [await customer.until("ack", client_id=f"c{i}") for i in range(15)]
        assert len({ack["seq"] for ack in acks}) == 15
        # An agent pasting 5 quick replies, typing in between.
        for i in range(5):
            await agent.send({"type": "typing", "chat_id": customer.chat_id})
            await agent.send(
                {
                    "type": "message",
                    "chat_id": customer.chat_id,
                    "client_id": f"a{i}",
                    "text": "好的",
                }
            )
        for i in range(5):
            await agent.until("ack", client_id=f"a{i}")


async def test_a_socket_over_its_rate_is_told_when_to_retry_then_closed_1008(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(
        database_url, clock, rate_messages_burst=3, rate_messages_per_s=2.0, rate_strikes=4
    ) as server:
        customer = await customer_from(server, "203.0.113.2")
        for i in range(3):
            await customer.say("又是我", f"c{i}")
        await customer.send({"type": "message", "client_id": "c3", "text": "又是我"})
        refused = await customer.until("error", ref="c3")
        assert refused["code"] == "rate_limited"
        assert refused["retry_after"] == 0.5
        # Typing is not a line: it still passes while the lines wait.
        await customer.send({"type": "typing"})
        clock.advance(0.5)
        await customer.say("又是我", "c3")  # the wait told was enough
        for i in range(4, 8):
            await customer.send({"type": "message", "client_id": f"c{i}", "text": "又是我"})
        assert await customer.closed_with() == 1008
        # Nothing refused was stored.
        chat = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
        assert [m["text"] for m in chat["messages"] if m["sender"] == "customer"] == ["又是我"] * 4


async def test_garbage_frames_count_against_the_frame_rate(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, rate_frames_burst=5, rate_strikes=3) as server:
        customer = await customer_from(server, "203.0.113.3")
        for _ in range(5):
            await customer.send("not json")
        for _ in range(5):
            assert (await customer.until("error"))["code"] == "bad_json"
        await customer.send("not json")
        assert (await customer.until("error"))["code"] == "rate_limited"
        await customer.send("not json")
        await customer.send("not json")
        assert await customer.closed_with() == 1008


async def test_an_address_holds_at_most_its_sockets(database_url: str, clock: ManualClock) -> None:
    async with limited_server(database_url, clock, ip_max_sockets=3) as server:
        held = [await customer_from(server, "203.0.113.4") for _ in range(3)]
        over = await customer_from(server, "203.0.113.4", ready=False)
        assert await over.closed_with() == 4429
        await customer_from(server, "203.0.113.5")  # another address is not affected
        metrics = (await server.http.get("/metrics")).text
        assert sample(metrics, "kefu_limited_total", limit="ip_sockets") == 1
        await held[0].close()

        deadline = time.monotonic() + TIMEOUT
        while server.runtime.limits.sockets.get("203.0.113.4") != 2:
            assert time.monotonic() < deadline, "the closed socket was never counted out"
            await asyncio.sleep(0.01)
        await customer_from(server, "203.0.113.4")


async def test_an_address_opens_at_most_its_guest_chats_a_minute(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, ip_guest_chats_per_min=2) as server:
        first = await customer_from(server, "203.0.113.6")
        await customer_from(server, "203.0.113.6")
        third = await customer_from(server, "203.0.113.6", ready=False)
        assert await third.closed_with() == 4429
        # Coming back to a chat is no new chat.
        back = await customer_from(
            server, "203.0.113.6", resume={"token": first.token, "last_seq": 0}
        )
        assert back.chat_id == first.chat_id
        clock.advance(60)
        await customer_from(server, "203.0.113.6")


async def test_failed_agent_sign_ins_throttle_the_address_before_its_token_is_checked(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, signin_failures_per_ip=3) as server:
        good = (await server.new_agent("小王", "1001"))["token"]
        for i in range(3):
            wrong = await agent_from(server, "203.0.113.7", f"kfa_wrong{i}")
            assert await wrong.closed_with() == 4403  # an unknown agent token
        # Even the right token waits now: a guess, right or wrong, learns nothing.
        throttled = await agent_from(server, "203.0.113.7", good)
        assert await throttled.closed_with() == 4429
        # The admin API, from that address, says the same with a problem body.
        answer = await server.http.get("/api/v1/agents", headers=at("203.0.113.7"))
        assert answer.status_code == 429
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["code"] == "rate_limited" and body["retry_after"] > 0
        assert int(answer.headers["retry-after"]) >= body["retry_after"]
        # Another address signs in; the throttled one again once the window has passed.
        elsewhere = await agent_from(server, "203.0.113.8", good)
        await elsewhere.expect("ready")
        clock.advance(300)
        again = await agent_from(server, "203.0.113.7", good)
        await again.expect("ready")


async def test_wrong_bearer_tokens_are_throttled_per_address_and_per_token_prefix(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(
        database_url, clock, signin_failures_per_ip=3, signin_failures_per_token=4
    ) as server:
        for _ in range(3):
            answer = await server.http.get(
                "/api/v1/agents", headers=at("203.0.113.9", Authorization="Bearer kfadm_guess")
            )
            assert answer.status_code == 401
        answer = await server.http.get("/api/v1/agents", headers=at("203.0.113.9"))
        assert answer.status_code == 429
        # The same token from a spread of addresses: stopped by its prefix.
        answer = await server.http.get(
            "/api/v1/agents", headers=at("203.0.113.10", Authorization="Bearer kfadm_guess")
        )
        assert answer.status_code == 401
        answer = await server.http.get(
            "/api/v1/agents", headers=at("203.0.113.11", Authorization="Bearer kfadm_guess")
        )
        assert answer.status_code == 429
        # The right admin token from a clean address is not held up by the others' failures.
        answer = await server.http.get("/api/v1/agents", headers=at("203.0.113.12"))
        assert answer.status_code == 200


async def test_bad_player_signatures_and_resume_tokens_count_as_failed_sign_ins(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, signin_failures_per_ip=2) as server:
        forged = {**server.player("p-1"), "sig": "0" * 64}
        bad = await customer_from(server, "203.0.113.13", ready=False, player=forged)
        assert await bad.closed_with() in (4401, 4403)
        resume = {"token": "kfr_forged", "last_seq": 0}
        bad = await customer_from(server, "203.0.113.13", ready=False, resume=resume)
        assert await bad.closed_with() in (4401, 4403)
        real = await customer_from(server, "203.0.113.13", ready=False, player=server.player("p-1"))
        assert await real.closed_with() == 4429


async def test_a_browser_socket_from_a_foreign_origin_is_refused(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(
        database_url, clock, widget_frame_ancestors="https://game.example.com"
    ) as server:
        url = server.ws_url + "/ws/customer"
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(url, origin="https://evil.example.net", open_timeout=TIMEOUT)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 403
        for origin in (server.url, "https://game.example.com", None):
            ws = await websockets.connect(url, origin=origin, open_timeout=TIMEOUT)  # type: ignore[arg-type]
            await ws.send(json.dumps({"type": "hello"}))
            assert json.loads(await ws.recv())["type"] == "ready"
            await ws.close()
        with pytest.raises(websockets.InvalidStatus):
            await websockets.connect(
                server.ws_url + "/ws/agent",
                origin="https://evil.example.net",
                open_timeout=TIMEOUT,  # type: ignore[arg-type]
            )


async def test_a_body_that_does_not_arrive_is_answered_408(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, body_timeout_s=0.3) as server:
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        writer.write(
            (
                "POST /api/v1/groups HTTP/1.1\r\n"
                f"Host: {host}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
                'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"na'
            ).encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 408"), head
        writer.close()


async def test_a_body_over_the_limit_is_refused_413_without_a_token_too(
    database_url: str, clock: ManualClock
) -> None:
    async with limited_server(database_url, clock, max_body_kb=1) as server:
        big = {"name": "g", "title": "x" * 2000}
        answer = await server.http.post("/api/v1/groups", json=big)
        assert answer.status_code == 413 and answer.json()["code"] == "body_too_large"
        async with httpx.AsyncClient(base_url=server.url) as anonymous:
            answer = await anonymous.post("/api/v1/groups", json=big)
        assert answer.status_code == 413


async def test_an_exempt_address_is_limited_by_nothing(server: Server) -> None:
    # The test servers exempt 127.0.0.0/8, as an operator would a load generator.
    customer = await server.customer()
    for i in range(60):
        await customer.send({"type": "message", "client_id": f"c{i}", "text": "压测"})
    for i in range(60):
        await customer.until("ack", client_id=f"c{i}")
    for _ in range(20):
        wrong = await server.http.get("/api/v1/agents", headers={"Authorization": "Bearer x"})
        assert wrong.status_code == 401

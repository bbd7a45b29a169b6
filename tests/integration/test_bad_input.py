"""Bad input gets a typed error and changes nothing; only a bad hello closes the socket."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.test_reconnect import stored_messages
from tests.support.server import PLAYER_SECRET, Peer, Server


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    faults = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert not faults, [r.getMessage() for r in faults]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"text": "no type"}', "bad_frame"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "text": "no client id"}', "bad_frame"),
        ('{"type": "message", "client_id": "x", "text": 42}', "bad_frame"),
        ('{"type": "message", "client_id": "x", "text": ""}', "bad_frame"),
        ('{"type": "message", "client_id": "x", "text": "hi", "extra": 1}', "bad_frame"),
        ('{"type": "message", "client_id": "' + "x" * 65 + '", "text": "hi"}', "bad_frame"),
        ('{"type": "hello"}', "unknown_type"),
        ('{"type": "message", "client_id": "x", "text": "nul \\u0000 inside"}', "bad_frame"),
    ],
)
async def test_bad_customer_frame_gets_error_and_socket_stays_open(
    server: Server, raw: str, code: str
) -> None:
    customer = await server.customer()
    await customer.until("queue")
    before = await stored_messages(server, customer.chat_id)
    await customer.send(raw)
    error = await customer.expect("error", code=code)
    assert error["message"]
    assert await stored_messages(server, customer.chat_id) == before
    ack = await customer.say("still here")
    assert ack["seq"] == before + 1


async def test_error_echoes_client_id_as_ref(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue")
    await customer.send({"type": "message", "client_id": "m-7", "text": 7})
    await customer.expect("error", code="bad_frame", ref="m-7")


async def test_text_over_the_limit_is_refused(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue")
    limit = server.runtime.settings.max_text
    before = await stored_messages(server, customer.chat_id)
    await customer.send({"type": "message", "client_id": "long", "text": "长" * (limit + 1)})
    await customer.expect("error", code="text_too_long", ref="long")
    assert (await customer.say("长" * limit))["seq"] == before + 1


async def test_oversized_frame_is_refused_without_closing(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue")
    padding = "x" * server.runtime.settings.max_frame_bytes
    before = await stored_messages(server, customer.chat_id)
    await customer.send(json.dumps({"type": "typing", "pad": padding}))
    await customer.expect("error", code="frame_too_large")
    assert await stored_messages(server, customer.chat_id) == before
    assert (await customer.say("ok"))["seq"] == before + 1


async def test_frames_on_someone_elses_chat_are_refused(server: Server) -> None:
    mine = await server.agent("甲", "2001", capacity=1)
    theirs = await server.agent("乙", "2002", capacity=1)
    c1 = await server.customer()
    await mine.expect("assigned", chat_id=c1.chat_id)
    c2 = await server.customer()
    await theirs.expect("assigned", chat_id=c2.chat_id)

    for frame in (
        {"type": "message", "chat_id": c2.chat_id, "client_id": "x1", "text": "偷看"},
        {"type": "close", "chat_id": c2.chat_id},
        {"type": "typing", "chat_id": c2.chat_id},
        {"type": "message", "chat_id": 999, "client_id": "x2", "text": "不存在"},
    ):
        await mine.send(frame)
        await mine.expect("error", code="not_your_chat")
    assert await stored_messages(server, c2.chat_id) == 1
    await theirs.quiet()


async def test_agent_frames_on_a_closed_chat_are_invalid_state(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.send({"type": "close"})
    await agent.until("closed", chat_id=customer.chat_id)
    await agent.send({"type": "close", "chat_id": customer.chat_id})
    await agent.expect("error", code="invalid_state")
    await customer.send({"type": "close"})
    await customer.until("error", code="invalid_state")


async def test_bad_agent_frame_is_typed(server: Server) -> None:
    agent = await server.agent()
    await agent.send({"type": "status", "status": "asleep"})
    await agent.expect("error", code="bad_frame")
    await agent.send({"type": "message", "chat_id": "abc", "client_id": "a", "text": "x"})
    await agent.expect("error", code="bad_frame", ref="a")


@pytest.mark.parametrize(
    "first",
    [
        "not json at all",
        '{"type": "message", "client_id": "a", "text": "hi"}',
        '{"type": "hello", "player": {"id": "p1"}}',
        '{"type": "hello", "resume": {"token": ""}}',
    ],
)
async def test_invalid_hello_closes_4401(server: Server, first: str) -> None:
    peer = Peer(await server.connect("/ws/customer"))
    await peer.send(first)
    assert await peer.closed_with() == 4401


async def test_no_hello_in_time_closes_4401(server: Server) -> None:
    peer = Peer(await server.connect("/ws/agent"))
    # The hello timeout is a real-time socket deadline, set to one second in tests.
    assert await peer.closed_with() == 4401


async def test_forged_player_signature_closes_4403(server: Server) -> None:
    claim = server.player("p-100", "玩家甲", "vip3", secret="not-the-secret")
    peer = await server.customer(ready=False, player=claim)
    assert await peer.closed_with() == 4403


async def test_player_cannot_raise_own_tier(server: Server) -> None:
    claim = server.player("p-100", "玩家甲", "normal")
    claim["tier"] = "vip9"
    peer = await server.customer(ready=False, player=claim)
    assert await peer.closed_with() == 4403


async def test_expired_player_signature_closes_4403(server: Server) -> None:
    claim = server.player("p-100")
    server.clock.advance(server.runtime.settings.player_sig_ttl_s + 1)
    peer = await server.customer(ready=False, player=claim)
    assert await peer.closed_with() == 4403


async def test_signed_player_is_recognised(server: Server) -> None:
    claim = server.player("p-100", "玩家甲", "vip3")
    await server.customer(player=claim)
    agent = await server.agent()
    assigned = await agent.expect("assigned")
    assert assigned["customer"]["player_id"] == "p-100"
    assert assigned["customer"]["tier"] == "vip3"
    assert PLAYER_SECRET not in json.dumps(assigned)


async def test_bad_agent_token_closes_4403(server: Server) -> None:
    peer = Peer(await server.connect("/ws/agent"))
    await peer.send({"type": "hello", "token": "kfa_forged"})
    assert await peer.closed_with() == 4403


async def test_disabled_agent_is_refused(server: Server) -> None:
    created = await server.new_agent("小张", "4001")
    response = await server.http.patch(f"/api/v1/agents/{created['id']}", json={"active": False})
    assert response.status_code == 200
    peer = Peer(await server.connect("/ws/agent"))
    await peer.send({"type": "hello", "token": created["token"]})
    assert await peer.closed_with() == 4403


async def test_resume_with_someone_elses_player_claim_closes_4403(server: Server) -> None:
    owner = await server.customer(player=server.player("p-1"))
    await owner.close()
    claim = server.player("p-2")
    peer = await server.customer(
        ready=False, player=claim, resume={"token": owner.token, "last_seq": 0}
    )
    assert await peer.closed_with() == 4403


async def test_newline_in_player_claim_is_an_invalid_hello(server: Server) -> None:
    claim = server.player("p-1", "x\nvip9")
    peer = await server.customer(ready=False, player=claim)
    assert await peer.closed_with() == 4401


async def test_frame_limit_counts_bytes_not_characters(server: Server) -> None:
    customer = await server.customer()
    await customer.until("queue")
    limit = server.runtime.settings.max_frame_bytes
    # Each 长 is three UTF-8 bytes: under the limit in characters, over it in bytes.
    await customer.send(
        json.dumps({"type": "typing", "pad": "长" * (limit // 2)}, ensure_ascii=False)
    )
    await customer.expect("error", code="frame_too_large")

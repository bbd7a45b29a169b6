"""S-privacy: a customer never sees another chat or any note; an agent only their own chats."""

from __future__ import annotations

from typing import Any

from tests.integration.test_transfers import held_by
from tests.support.server import Customer, Server


async def drain_frames(peer: Customer) -> list[dict[str, Any]]:
    frames = []
    try:
        while True:
            frames.append(await peer.recv(0.3))
    except TimeoutError:
        return frames


async def test_a_customer_never_gets_another_chats_frames(server: Server) -> None:
    agent = await server.agent()
    mine = await held_by(server, agent)
    theirs = await held_by(server, agent)
    await theirs.say("我的手机号是 13800138000")
    await agent.say(theirs.chat_id, "已为您绑定 13800138000")
    await agent.send({"type": "note", "chat_id": mine.chat_id, "text": "此客户曾投诉"})
    await agent.send({"type": "typing", "chat_id": theirs.chat_id})
    await agent.say(mine.chat_id, "请稍等")
    frames = await drain_frames(mine)
    assert frames, "the customer's own line should arrive"
    for frame in frames:
        assert frame.get("chat_id", mine.chat_id) == mine.chat_id, frame
        assert "13800138000" not in str(frame) and "投诉" not in str(frame), frame


async def test_a_customer_cannot_name_another_chat(server: Server) -> None:
    first = await server.customer()
    second = await server.customer()
    for frame in (
        {"type": "message", "chat_id": first.chat_id, "client_id": "x", "text": "偷看"},
        {"type": "close", "chat_id": first.chat_id},
        {"type": "typing", "chat_id": first.chat_id},
    ):
        await second.send(frame)
        await second.until("error", code="bad_frame")
    # Their chat is untouched.
    transcript = (await server.http.get(f"/api/v1/chats/{first.chat_id}")).json()
    assert transcript["status"] == "queued"
    assert all(m["text"] != "偷看" for m in transcript["messages"])


async def test_only_the_chats_own_token_and_player_open_it(server: Server) -> None:
    owner = await server.customer(player=server.player("p-1"))
    forged = await server.customer(ready=False, resume={"token": owner.token[:-2] + "xx"})
    assert await forged.closed_with() == 4403
    other_player = await server.customer(
        ready=False, player=server.player("p-2"), resume={"token": owner.token}
    )
    assert await other_player.closed_with() == 4403


async def test_after_a_transfer_the_first_agent_can_do_nothing_more_with_the_chat(
    server: Server,
) -> None:
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    said = await first.say(customer.chat_id, "稍等")
    second = await server.agent("乙", "2002")
    await first.send(
        {
            "type": "transfer",
            "chat_id": customer.chat_id,
            "to_agent": second.info["agent"]["id"],
            "note": "交给乙",
        }
    )
    await first.until("transferred")
    await second.until("assigned", chat_id=customer.chat_id)
    for frame in (
        {"type": "message", "chat_id": customer.chat_id, "client_id": "m", "text": "x"},
        {"type": "template", "chat_id": customer.chat_id, "key": "anything_else"},
        {"type": "note", "chat_id": customer.chat_id, "text": "x"},
        {"type": "correct", "chat_id": customer.chat_id, "seq": said["seq"], "text": "x"},
        {"type": "transfer", "chat_id": customer.chat_id, "to_group": "x", "note": "x"},
        {"type": "typing", "chat_id": customer.chat_id},
        {"type": "close", "chat_id": customer.chat_id},
        {"type": "close", "chat_id": customer.chat_id, "reason": "abuse"},
    ):
        await first.send(frame)
        await first.until("error", code="not_your_chat")

    # Nor does a reconnect that names the chat bring it back.
    await first.close()
    back = await server.agent_socket(first.info["token"], resume={str(customer.chat_id): 0})
    assert back.info["chats"] == []
    await customer.say("你好")
    await second.until("message", text="你好")
    await back.quiet()


async def test_agent_messages_reach_only_the_chats_customer(server: Server) -> None:
    a = await server.agent("甲", "2001", capacity=1)
    b = await server.agent("乙", "2002", capacity=1)
    ca = await held_by(server, a)
    cb = await held_by(server, b)
    await a.send({"type": "template", "chat_id": ca.chat_id, "key": "anything_else"})
    await ca.until("message", template="anything_else")
    await cb.quiet()
    await b.quiet()

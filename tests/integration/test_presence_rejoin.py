"""A live process that another one declared dead (its heartbeat was late: a stall, a long GC
pause) rejoins before its next presence write, whichever write comes first.

Process one expires process two the way it would a dead one (its rows are counted out and
deleted); process two has not beaten since and does not know yet. Whatever its clients do next
(a socket closes, a new customer opens a chat, an agent opens a second socket, a message) is
served: no 1011, nothing acknowledged lost, and the counts come out as if nothing had happened.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from service.db.models import Agent, Chat, Message, Process, ProcessSockets
from tests.support.counts import Counts
from tests.support.server import Server

TTL_S = 20.0


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """``server_pair``'s heartbeats beat only when the test says (``heartbeat.once()``)."""
    return {"process_heartbeat_s": 3600, "process_ttl_s": TTL_S}


async def _expire(one: Server, two: Server) -> None:
    """One takes two for dead while two is alive and holds its sockets (two is not told)."""
    assert await one.runtime.heartbeat.once() == 0
    one.clock.advance(TTL_S + 1)
    assert await one.runtime.heartbeat.once() > 0
    gone = two.runtime.chats.presence.process_id
    assert await one.rows(select(Process.id).where(Process.id == gone)) == []


async def _shares(server: Server) -> dict[tuple[str, int], int]:
    me = server.runtime.chats.presence.process_id
    async with server.runtime.units.read() as session:
        rows = await session.execute(
            select(ProcessSockets.kind, ProcessSockets.ref_id, ProcessSockets.sockets).where(
                ProcessSockets.process_id == me, ProcessSockets.sockets > 0
            )
        )
        return {(kind, ref_id): sockets for kind, ref_id, sockets in rows}


async def test_an_expired_live_process_rejoins_on_its_next_connect(
    server_pair: tuple[Server, Server],
) -> None:
    one, two = server_pair
    counts = Counts(one)
    customer = await two.customer()
    account = await one.new_agent("复活", "7201")
    agent = await two.agent_socket(account["token"])
    await agent.until("assigned", chat_id=customer.chat_id)
    await _expire(one, two)
    assert (await counts.agent(account["id"]), await counts.customer(customer.chat_id)) == (0, 0)

    # Two's next presence write is a new customer's chat: served, not closed with 1011.
    newcomer = await two.customer()
    assert (await counts.customer(newcomer.chat_id), await counts.customer(customer.chat_id)) == (
        1,
        1,
    )
    # The agent opens a second socket on two: both counted, as the rejoin re-counted the first.
    second = await two.agent_socket(account["token"])
    assert await counts.agent(account["id"]) == 2
    ack = await customer.say("还在吗")
    assert (await agent.until("message", seq=ack["seq"]))["text"] == "还在吗"
    me = two.runtime.chats.presence.process_id
    assert await one.rows(select(Process.id).where(Process.id == me)) == [me]
    assert await _shares(two) == {
        ("agent", account["id"]): 2,
        ("customer", customer.chat_id): 1,
        ("customer", newcomer.chat_id): 1,
    }

    # Its heartbeat, late, finds its row there: nothing counted twice.
    assert await two.runtime.heartbeat.once() == 0
    assert await counts.agent(account["id"]) == 2
    assert await counts.customer(customer.chat_id) == 1
    await second.close()
    await counts.settles("agent", account["id"], 1, floor=1)
    for peer in (agent, customer, newcomer):
        await peer.close()
    await counts.settles("agent", account["id"], 0, floor=0)
    await counts.settles("customer", customer.chat_id, 0, floor=0)
    await counts.settles("customer", newcomer.chat_id, 0, floor=0)
    stored = await one.rows(select(Message.text).where(Message.chat_id == customer.chat_id))
    assert "还在吗" in stored
    assert counts.wrong == []


async def test_an_expired_live_process_rejoins_on_its_next_close(
    server_pair: tuple[Server, Server],
) -> None:
    """A socket of the expired process closes first: the rejoin counts the others in again and
    this one out, so the agent who stays keeps their count and the customer who left gets 0."""
    one, two = server_pair
    counts = Counts(one)
    customer = await two.customer()
    account = await one.new_agent("留下", "7202")
    agent = await two.agent_socket(account["token"])
    await agent.until("assigned", chat_id=customer.chat_id)
    await _expire(one, two)

    await customer.close()
    await counts.settles("customer", customer.chat_id, 0, floor=0)
    await counts.settles("agent", account["id"], 1, floor=0)
    assert await _shares(two) == {("agent", account["id"]): 1}
    # The agent's grace, armed when one counted them out, finds them connected: chats stay.
    await one.advance(one.runtime.settings.agent_grace_s + 1)
    rows = await one.rows(select(Agent.status).where(Agent.id == account["id"]))
    assert rows == ["online"]
    chat = await one.rows(select(Chat.agent_id).where(Chat.id == customer.chat_id))
    assert chat == [account["id"]]
    assert counts.wrong == []


async def test_an_agent_taken_offline_while_expired_is_online_again_after_the_rejoin(
    server_pair: tuple[Server, Server],
) -> None:
    """Two stalled past the TTL and the agent's grace: one took the agent offline. Two's next
    beat rejoins: the agent, connected all along, is online again and told so."""
    one, two = server_pair
    counts = Counts(one)
    account = await one.new_agent("回来", "7203")
    agent = await two.agent_socket(account["token"])
    await _expire(one, two)
    await one.advance(one.runtime.settings.agent_grace_s + 1)
    assert await one.rows(select(Agent.status).where(Agent.id == account["id"])) == ["offline"]

    assert await two.runtime.heartbeat.once() == 0
    assert await agent.until("status", status="online")
    assert two.runtime.chats.presence.rejoins == 1
    assert await one.rows(select(Agent.status).where(Agent.id == account["id"])) == ["online"]
    assert await counts.agent(account["id"]) == 1
    customer = await one.customer()
    await agent.until("assigned", chat_id=customer.chat_id)

"""Routing: fewest open chats first, capacity respected, FIFO queue with live positions."""

from __future__ import annotations

from tests.support.server import Server


async def test_chat_goes_to_agent_with_fewest_open_chats(server: Server) -> None:
    busy = await server.agent("甲", "2001")
    first = await server.customer()
    await busy.expect("assigned", chat_id=first.chat_id)
    idle = await server.agent("乙", "2002")

    second = await server.customer()
    await idle.expect("assigned", chat_id=second.chat_id)
    await busy.quiet()


async def test_tie_goes_to_agent_idle_longest(server: Server) -> None:
    a = await server.agent("甲", "2001")
    b = await server.agent("乙", "2002")
    # Neither has had a chat: first by id; then the one not yet given a chat.
    c1 = await server.customer()
    await a.expect("assigned", chat_id=c1.chat_id)
    c2 = await server.customer()
    await b.expect("assigned", chat_id=c2.chat_id)
    server.clock.advance(5)
    await c1.send({"type": "close"})
    await a.until("closed", chat_id=c1.chat_id)
    server.clock.advance(5)
    await c2.send({"type": "close"})
    await b.until("closed", chat_id=c2.chat_id)
    # Both now have 0 open chats; a was assigned longer ago, so a is idle longest.
    c3 = await server.customer()
    await a.until("assigned", chat_id=c3.chat_id)


async def test_capacity_is_respected_and_queue_is_fifo(server: Server) -> None:
    agent = await server.agent(capacity=2)
    customers = [await server.customer() for _ in range(4)]
    await agent.expect("assigned", chat_id=customers[0].chat_id)
    await agent.expect("assigned", chat_id=customers[1].chat_id)
    await customers[2].until("queue", position=1)
    await customers[3].until("queue", position=2)
    await agent.quiet()

    listing = (await server.http.get("/api/v1/agents")).json()
    assert listing[0]["open_chats"] == 2


async def test_queue_positions_update_when_the_queue_moves(server: Server) -> None:
    waiting = [await server.customer() for _ in range(3)]
    for position, customer in enumerate(waiting, start=1):
        await customer.until("queue", position=position)

    # The first one gives up: everyone behind moves up and is told.
    await waiting[0].send({"type": "close"})
    await waiting[1].until("queue", position=1)
    await waiting[2].until("queue", position=2)

    agent = await server.agent(capacity=1)
    await agent.expect("assigned", chat_id=waiting[1].chat_id)
    await waiting[1].until("assigned")
    await waiting[2].until("queue", position=1)


async def test_agent_going_online_pulls_from_queue(server: Server) -> None:
    agent = await server.agent(status="away")
    assert agent.info["agent"]["status"] == "away"
    customer = await server.customer()
    await customer.until("queue", position=1)
    await agent.quiet()

    await agent.send({"type": "status", "status": "online"})
    await agent.until("assigned", chat_id=customer.chat_id)


async def test_going_offline_returns_chats_to_the_front_of_the_queue(server: Server) -> None:
    leaving = await server.agent("甲", "2001", capacity=1)
    mine = await server.customer()
    await leaving.expect("assigned", chat_id=mine.chat_id)
    other = await server.customer()
    await other.until("queue", position=1)

    await leaving.send({"type": "status", "status": "offline"})
    await leaving.until("unassigned", chat_id=mine.chat_id, reason="offline")
    notice = await mine.until("message", template="returned_to_queue")
    assert notice["sender"] == "system"
    await mine.until("queue", position=1)
    await other.until("queue", position=2)

    taker = await server.agent("乙", "2002", capacity=1)
    assigned = await taker.expect("assigned", chat_id=mine.chat_id)
    # Nobody else was online: the customer was also told so (S-callback-24h).
    notices = [m.get("template") for m in assigned["history"][-2:]]
    assert notices == ["returned_to_queue", "nobody_online"]


async def test_agent_messages_reach_only_their_own_chats(server: Server) -> None:
    a = await server.agent("甲", "2001", capacity=1)
    b = await server.agent("乙", "2002", capacity=1)
    ca = await server.customer()
    await a.expect("assigned", chat_id=ca.chat_id)
    cb = await server.customer()
    await b.expect("assigned", chat_id=cb.chat_id)
    await cb.until("assigned")

    await a.say(ca.chat_id, "只给甲的客户")
    await ca.until("message", sender="agent")
    await cb.quiet()
    await b.quiet()


async def test_reconnecting_agent_keeps_the_status_they_chose(server: Server) -> None:
    agent = await server.agent()
    await agent.send({"type": "status", "status": "offline"})
    await agent.until("status", status="offline")
    await server.leave(agent)
    back = await server.agent_socket(agent.info["token"], status="offline")
    assert back.info["agent"]["status"] == "offline"
    customer = await server.customer()
    await customer.until("queue", position=1)
    await back.quiet()

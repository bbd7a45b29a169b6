"""Group commit (service/db/group_commit.py): many units, one transaction, every rule still applied.

The direct tests hand units to the process's writer all at once (``asyncio.gather`` queues
them before the writer runs, so they form one batch); the socket tests check that frames sent
at once over real sockets are all acknowledged, stored once, in order and fanned out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from service.chats.machine import timer_key
from service.chats.service import Ack
from service.chats.store import client_key
from service.complaints.models import Complaint
from service.db.group_commit import Touches
from service.db.models import Message, PhraseHit, Reply, Sender
from service.db.unit_of_work import Work
from service.errors import InvalidState, TextTooLong
from tests.support.server import Agent, Customer, Server


async def served(server: Server, count: int) -> tuple[Agent, list[Customer]]:
    """``count`` customers, each assigned to one agent, every opening frame consumed."""
    agent = await server.agent("小王", "1001", capacity=count)
    customers = []
    for _ in range(count):
        customer = await server.customer()
        await customer.until("assigned")
        await agent.until("assigned", chat_id=customer.chat_id)
        customers.append(customer)
    return agent, customers


def customer_says(
    server: Server, chat_id: int, client_id: str, text: str
) -> Callable[[], Awaitable[Ack]]:
    """What the customer gateway hands the writer for one message frame."""
    store, touches = server.runtime.chats.customer_message_step(chat_id, client_id, text)
    return lambda: server.runtime.writer.run(store, touches)


def agent_says(
    server: Server, agent: Agent, chat_id: int, client_id: str, text: str
) -> Callable[[], Awaitable[Ack]]:
    runtime = server.runtime
    agent_id = agent.info["agent"]["id"]

    async def reply(work: Work) -> Ack:
        return await runtime.chats.agent_message(work, agent_id, chat_id, client_id, text)

    touches = Touches(chat_id, client_key(Sender.agent, agent_id, client_id), agent_id)
    return lambda: runtime.writer.run(reply, touches)


async def one_batch(server: Server, *units: Callable[[], Awaitable[Ack]]) -> list[Any]:
    """Run the units together; they must have been written as a single batch."""
    stats = server.runtime.writer.stats
    before = stats.batches
    results = await asyncio.gather(*(unit() for unit in units), return_exceptions=True)
    assert stats.batches == before + 1, "the units were not written as one batch"
    return results


async def stored(server: Server, chat_id: int) -> list[tuple[int, str, str]]:
    rows = await server.rows(
        select(Message).where(Message.chat_id == chat_id).order_by(Message.seq)
    )
    return [(m.seq, m.sender, m.text) for m in rows]


async def test_units_sent_together_share_one_commit(server: Server) -> None:
    agent, customers = await served(server, 8)
    firsts = {c.chat_id: (await stored(server, c.chat_id))[-1][0] for c in customers}
    units = [
        customer_says(server, c.chat_id, f"k{i}", f"第{i}句") for c in customers for i in range(2)
    ]
    acks = await one_batch(server, *units)

    # Acked in order, per chat gap-free after what was there, each stored once.
    for index, customer in enumerate(customers):
        mine = acks[index * 2 : index * 2 + 2]
        first = firsts[customer.chat_id]
        assert [(a.seq, a.duplicate) for a in mine] == [(first + 1, False), (first + 2, False)]
        assert (await stored(server, customer.chat_id))[-2:] == [
            (first + 1, "customer", "第0句"),
            (first + 2, "customer", "第1句"),
        ]
        # Fanned out after the commit, to both sides.
        for peer in (customer, agent):
            got = await peer.until("message", chat_id=customer.chat_id, seq=first + 1)
            assert got["text"] == "第0句"
            got = await peer.until("message", chat_id=customer.chat_id, seq=first + 2)
            assert got["text"] == "第1句"
    assert server.runtime.writer.stats.largest >= 16
    assert server.runtime.writer.stats.replays == 0


async def test_a_failing_unit_is_refused_and_the_rest_of_its_batch_stored(
    server: Server,
) -> None:
    agent, customers = await served(server, 3)
    good, closed, other = customers
    await closed.send({"type": "close"})
    await closed.until("closed")
    before = {c.chat_id: await stored(server, c.chat_id) for c in customers}
    too_long = "长" * (server.runtime.settings.max_text + 1)

    results = await one_batch(
        server,
        customer_says(server, good.chat_id, "g1", "你好"),
        customer_says(server, closed.chat_id, "x1", "还在吗"),
        customer_says(server, other.chat_id, "o1", too_long),
        customer_says(server, other.chat_id, "o2", "我的账号"),
    )

    assert isinstance(results[0], Ack) and not results[0].duplicate
    assert isinstance(results[1], InvalidState)
    assert isinstance(results[2], TextTooLong)
    assert isinstance(results[3], Ack) and not results[3].duplicate
    assert server.runtime.writer.stats.replays == 1
    # What was refused changed nothing; what was acked is stored once, in order.
    assert await stored(server, closed.chat_id) == before[closed.chat_id]
    assert (await stored(server, good.chat_id))[-1] == (results[0].seq, "customer", "你好")
    after = await stored(server, other.chat_id)
    assert after == [*before[other.chat_id], (results[3].seq, "customer", "我的账号")]
    assert (await agent.until("message", chat_id=other.chat_id))["text"] == "我的账号"


async def test_a_resend_in_the_same_batch_is_acked_with_the_first_seq(server: Server) -> None:
    _agent, (customer,) = await served(server, 1)
    first, again = await one_batch(
        server,
        customer_says(server, customer.chat_id, "same", "第一遍"),
        customer_says(server, customer.chat_id, "same", "第一遍"),
    )
    assert (again.seq, again.duplicate) == (first.seq, True)
    texts = [text for _, _, text in await stored(server, customer.chat_id)]
    assert texts.count("第一遍") == 1

    # And in a later batch, from the database.
    (later,) = await one_batch(server, customer_says(server, customer.chat_id, "same", "第一遍"))
    assert (later.seq, later.duplicate) == (first.seq, True)


@pytest.mark.parametrize("settings_overrides", [{"forbidden_mode": "warn"}])
async def test_every_rule_applies_inside_a_batch(server: Server) -> None:
    agent, (waiting, angry) = await served(server, 2)
    await waiting.say("我的装备不见了")
    server.clock.advance(12)

    await one_batch(
        server,
        # S-no-silence: the reply ends a 12 s wait and is timed.
        agent_says(server, agent, waiting.chat_id, "r1", "我帮您查一下"),
        # S-classes: a complaint keyword opens a draft for the agent.
        customer_says(server, angry.chat_id, "k1", "不给个说法我就打315"),
        # S-forbidden-phrases (warn): sent, and the hit recorded against the agent.
        agent_says(server, agent, angry.chat_id, "r2", "不知道"),
    )

    replies = await server.rows(select(Reply).where(Reply.chat_id == waiting.chat_id))
    assert [(r.wait_ms, r.first_response_ms) for r in replies] == [(12_000, 12_000)]
    draft = (await agent.until("complaint", event="draft"))["complaint"]
    assert (draft["status"], draft["facts"]) == ("draft", {"keyword": "315"})
    drafts = await server.rows(select(Complaint).where(Complaint.chat_id == angry.chat_id))
    assert [c.status for c in drafts] == ["draft"]
    hits = await server.rows(select(PhraseHit))
    assert [(h.phrase, h.blocked) for h in hits] == [("不知道", False)]
    # In order within the batch: the customer's message started a wait, the reply after it
    # ended it (timed at 0 ms) and started the customer's turn (S-no-response).
    replies = await server.rows(select(Reply).where(Reply.chat_id == angry.chat_id))
    assert [(r.wait_ms, r.first_response_ms) for r in replies] == [(0, 0)]
    assert (await server.armed(timer_key(angry.chat_id))).kind == "idle_prompt"


async def test_frames_sent_at_once_over_sockets_are_all_acked_and_stored_once(
    server: Server,
) -> None:
    agent, customers = await served(server, 12)
    per_customer = 6

    async def talk(customer: Customer) -> list[int]:
        await customer.drain()
        for i in range(per_customer):
            await customer.send({"type": "message", "client_id": f"m{i}", "text": f"消息{i}"})
        return [
            (await customer.until("ack", client_id=f"m{i}"))["seq"] for i in range(per_customer)
        ]

    acked = await asyncio.gather(*(talk(customer) for customer in customers))

    for customer, seqs in zip(customers, acked, strict=True):
        # Acked in the order sent, gap-free, each one stored with its text.
        assert seqs == list(range(seqs[0], seqs[0] + per_customer))
        rows = await stored(server, customer.chat_id)
        assert [seq for seq, _, _ in rows] == list(range(1, rows[-1][0] + 1))
        assert [(seq, text) for seq, _, text in rows[-per_customer:]] == [
            (seq, f"消息{i}") for i, seq in enumerate(seqs)
        ]
    # The agent got each message once.
    seen: dict[int, list[int]] = {}
    while sum(map(len, seen.values())) < len(customers) * per_customer:
        frame = await agent.until("message", sender="customer")
        seen.setdefault(frame["chat_id"], []).append(frame["seq"])
    for customer, seqs in zip(customers, acked, strict=True):
        assert seen[customer.chat_id] == seqs

"""Transfers (S-no-blind-transfer, S-first-responder) and groups in routing."""

from __future__ import annotations

from typing import Any

from tests.integration.test_reconnect import stored_messages
from tests.support.server import Agent, Customer, Server

NOTE = "充值68元未到账,订单 2026010312345,已核实扣款。"


def transfer(chat_id: int, note: str = NOTE, **to: Any) -> dict[str, Any]:
    return {"type": "transfer", "chat_id": chat_id, "note": note, **to}


async def held_by(server: Server, agent: Agent) -> Customer:
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")
    return customer


async def test_transfer_to_a_colleague_hands_over_history_and_note(server: Server) -> None:
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    second = await server.agent("乙", "2002")
    await customer.say("我充值了没到账")
    await first.until("message", sender="customer")

    await first.send(transfer(customer.chat_id, to_agent=second.info["agent"]["id"]))
    done = await first.until("transferred", chat_id=customer.chat_id)
    assert done["to"] == {
        "agent": {"id": second.info["agent"]["id"], "name": "乙", "employee_no": "2002"}
    }

    # The customer is told, then meets the new agent; the note never reaches them.
    told = await customer.until("message", template="transferred")
    assert told["text"].startswith("为了更好地为您解决问题")
    assert (await customer.expect("assigned"))["agent"] == {"name": "乙", "employee_no": "2002"}

    assigned = await second.expect("assigned", chat_id=customer.chat_id)
    history = assigned["history"]
    assert [m["seq"] for m in history] == list(range(1, assigned["last_seq"] + 1))
    handoff = [m for m in history if m.get("kind") == "handoff"]
    assert [(m["text"], m["internal"], m["agent"]["name"]) for m in handoff] == [(NOTE, True, "甲")]
    assert history[-1]["template"] == "transferred"
    assert any(m["text"] == "我充值了没到账" for m in history)

    # From now on the chat is the second agent's alone (S-first-responder).
    await customer.say("还在吗")
    await second.until("message", text="还在吗")
    await first.send(
        {"type": "message", "chat_id": customer.chat_id, "client_id": "late", "text": "我还在"}
    )
    await first.until("error", code="not_your_chat", ref="late")
    await second.say(customer.chat_id, "您好,我来继续为您处理")
    await customer.until("message", sender="agent")
    await first.quiet()


async def test_transfer_refused_when_the_colleague_cannot_take_it(server: Server) -> None:
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    away = await server.agent("乙", "2002", status="away")
    full = await server.agent("丙", "2003", capacity=1)
    await held_by(server, full)
    disabled = await server.new_agent("丁", "2004")
    await server.http.patch(f"/api/v1/agents/{disabled['id']}", json={"active": False})
    before = await stored_messages(server, customer.chat_id)

    for target, reason in (
        (away.info["agent"]["id"], "offline"),
        (full.info["agent"]["id"], "full"),
        (disabled["id"], "unknown_agent"),
        (9999, "unknown_agent"),
        (first.info["agent"]["id"], "self"),
    ):
        await first.send(transfer(customer.chat_id, to_agent=target))
        error = await first.until("error", code="transfer_refused")
        assert error["reason"] == reason, error

    # Nothing moved: same agent, nothing stored, the customer heard nothing.
    assert await stored_messages(server, customer.chat_id) == before
    await customer.quiet()
    await first.say(customer.chat_id, "我继续为您处理")
    await customer.until("message", sender="agent")


async def test_bad_transfer_frames_are_refused(server: Server) -> None:
    first = await server.agent()
    customer = await held_by(server, first)
    for frame in (
        transfer(customer.chat_id),  # no target
        transfer(customer.chat_id, to_agent=2, to_group="billing"),  # two targets
        {"type": "transfer", "chat_id": customer.chat_id, "to_group": "billing"},  # no note
        transfer(customer.chat_id, note="", to_group="billing"),
    ):
        await first.send(frame)
        await first.expect("error", code="bad_frame")
    await first.send(transfer(customer.chat_id, to_group="nowhere"))
    assert (await first.expect("error", code="transfer_refused"))["reason"] == "unknown_group"
    await first.send(transfer(999, to_group="nowhere"))
    await first.expect("error", code="not_your_chat")


async def test_transfer_to_a_group_goes_to_a_free_member(server: Server) -> None:
    await server.group("billing", "充值组")
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    busy = await server.agent("乙", "2002", capacity=1, groups=["billing"])
    await held_by(server, busy)
    free = await server.agent("丙", "2003", groups=["billing"])

    await first.send(transfer(customer.chat_id, to_group="billing"))
    done = await first.until("transferred", chat_id=customer.chat_id)
    assert done["to"] == {"group": "billing"}
    await free.until("assigned", chat_id=customer.chat_id)
    await customer.until("message", template="transferred")
    assert (await customer.until("assigned"))["agent"]["name"] == "丙"


async def test_group_transfer_waits_in_the_group_queue_when_members_are_full(
    server: Server,
) -> None:
    await server.group("billing")
    first = await server.agent("甲", "2001", groups=["billing"])
    customer = await held_by(server, first)
    member = await server.agent("乙", "2002", capacity=1, groups=["billing"])
    other = await held_by(server, member)

    await first.send(transfer(customer.chat_id, to_group="billing"))
    await first.until("transferred", chat_id=customer.chat_id)
    await customer.until("message", template="transferred")
    await customer.until("queue", position=1)
    # The first agent has free seats but handed it off: it is not given back to them.
    await first.quiet()

    await other.send({"type": "close"})
    await member.until("assigned", chat_id=customer.chat_id)
    await customer.until("assigned")
    group = (await server.http.get("/api/v1/groups/billing")).json()
    assert group["queued"] == 0 and group["online"] == 2


async def test_group_transfer_refused_when_no_other_member_is_online(server: Server) -> None:
    await server.group("billing")
    first = await server.agent("甲", "2001", groups=["billing"])
    customer = await held_by(server, first)
    await server.agent("乙", "2002", groups=["billing"], status="away")
    await first.send(transfer(customer.chat_id, to_group="billing"))
    error = await first.expect("error", code="transfer_refused")
    assert error["reason"] == "nobody_online"
    await customer.quiet()


async def test_a_chat_asking_for_a_group_goes_only_to_its_agents(server: Server) -> None:
    await server.group("billing")
    outsider = await server.agent("甲", "2001")
    member = await server.agent("乙", "2002", capacity=1, groups=["billing"])
    first = await server.customer(group="billing")
    await member.expect("assigned", chat_id=first.chat_id)

    # The member is full: the next billing chat waits, though the outsider is free.
    second = await server.customer(group="billing")
    await second.until("queue", position=1)
    plain = await server.customer()
    await outsider.expect("assigned", chat_id=plain.chat_id)
    await outsider.quiet()

    # An unknown group is no group: the chat is not stranded.
    lost = await server.customer(group="no-such-group")
    await outsider.expect("assigned", chat_id=lost.chat_id)

    await first.send({"type": "close"})
    await member.until("assigned", chat_id=second.chat_id)


async def test_customers_waiting_for_a_group_nobody_serves_are_told(server: Server) -> None:
    await server.group("vip")
    await server.agent("甲", "2001")
    customer = await server.customer(group="vip")
    await customer.expect("message", template="welcome")
    await customer.expect("message", template="nobody_online")


async def test_group_admin_routes(server: Server) -> None:
    created = await server.group("billing", "充值组")
    assert created == {
        **created,
        "name": "billing",
        "title": "充值组",
        "agents": [],
        "online": 0,
        "queued": 0,
    }
    again = await server.http.post("/api/v1/groups", json={"name": "billing"})
    assert again.status_code == 409
    bad = await server.http.post("/api/v1/groups", json={"name": "Billing Team"})
    assert bad.status_code == 422
    agent = await server.new_agent("甲", "2001")
    joined = await server.http.put(f"/api/v1/groups/billing/agents/{agent['id']}")
    assert joined.json()["agents"] == [agent["id"]]
    twice = await server.http.put(f"/api/v1/groups/billing/agents/{agent['id']}")
    assert twice.json()["agents"] == [agent["id"]]
    assert (await server.http.put("/api/v1/groups/billing/agents/999")).status_code == 404
    assert (await server.http.put(f"/api/v1/groups/x/agents/{agent['id']}")).status_code == 404
    renamed = await server.http.patch("/api/v1/groups/billing", json={"title": "财务"})
    assert renamed.json()["title"] == "财务"
    left = await server.http.delete(f"/api/v1/groups/billing/agents/{agent['id']}")
    assert left.json()["agents"] == []
    listing = (await server.http.get("/api/v1/groups")).json()
    assert [g["name"] for g in listing] == ["billing"]

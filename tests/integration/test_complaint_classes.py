"""S-classes: batch, repeat, important and sensitive customers, staff reasons; urgent pushes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.complaints import complain, detail, patch, row_of, rows, walk
from tests.support.server import Customer, Peer, Server

HOUR = 3600.0
DAY = 24 * HOUR


async def many(
    server: Server, count: int, topic: str = "recharge", *, vip: bool = False, start: int = 0
) -> list[Customer]:
    """``count`` different customers complain about ``topic`` (VIP players, or guests each
    on a device and an address of their own: one browser's tabs are one person)."""
    customers = []
    for n in range(start, start + count):
        hello: dict[str, Any] = {"device": f"device-{n}", "address": f"198.51.100.{n + 1}"}
        if vip:
            hello["player"] = server.player(f"vip-{n}", tier="vip3")
        customers.append(await complain(server, topic, f"第{n}位", **hello))
    return customers


def reasons(row: dict[str, Any]) -> set[str]:
    return set(row["reasons"])


async def batch_alerts(supervisor: Peer) -> list[dict[str, Any]]:
    return [f for f in await supervisor.drain() if f.get("event") == "batch"]


@pytest.mark.parametrize(("vip", "below", "at"), [(False, 10, 11), (True, 4, 5)])
async def test_batch_is_detected_at_the_threshold_and_not_below(
    server: Server, vip: bool, below: int, at: int
) -> None:
    """More than 10 customers, or 5 VIP customers, on one topic within 60 minutes."""
    supervisor = await server.supervisor()
    await many(server, below, vip=vip)
    assert all("batch" not in reasons(row) for row in await rows(server))
    assert await batch_alerts(supervisor) == []

    await many(server, 1, vip=vip, start=below)
    [alert] = await batch_alerts(supervisor)
    batch = alert["batch"]
    assert batch["topic"] == "recharge"
    assert (batch["customers"], batch["vip_customers"]) == (at, at if vip else 0)
    all_rows = await rows(server)
    assert len(all_rows) == at == len(batch["complaint_ids"])
    # Every row of the batch carries the reason, is urgent and answered sooner.
    for row in all_rows:
        assert "batch" in reasons(row) and row["class"] == "urgent"
        assert row["batch_id"] == batch["id"]
        assert row["answer_due_at"] == "2026-01-06T09:00:00Z"


async def test_one_alert_per_batch_not_per_row(server: Server) -> None:
    supervisor = await server.supervisor()
    await many(server, 11)
    await many(server, 3, start=11)
    assert len(await batch_alerts(supervisor)) == 1
    assert all("batch" in reasons(row) for row in await rows(server))
    assert len({row["batch_id"] for row in await rows(server)}) == 1


async def test_other_topics_do_not_count_towards_a_batch(server: Server) -> None:
    await many(server, 6, "recharge")
    await many(server, 6, "account", start=6)
    assert not any("batch" in reasons(row) for row in await rows(server))


async def test_one_customer_complaining_many_times_is_no_batch(server: Server) -> None:
    player = "p-angry"
    for n in range(12):
        await complain(server, "recharge", f"第{n}次", player=server.player(player))
    assert not any("batch" in reasons(row) for row in await rows(server))


@pytest.mark.parametrize(("gap", "batch"), [(60 * 60.0, True), (60 * 60.0 + 1, False)])
async def test_batch_window_is_60_minutes_edge_included(
    server: Server, gap: float, batch: bool
) -> None:
    await many(server, 10)
    await server.advance(gap)
    last = await many(server, 1, start=10)
    assert ("batch" in reasons(await row_of(server, last[0].chat_id))) is batch


async def test_a_new_surge_after_the_window_is_a_new_batch(server: Server) -> None:
    supervisor = await server.supervisor()
    await many(server, 11)
    first = (await supervisor.until("complaint", event="batch"))["batch"]
    await server.advance(2 * HOUR)
    await many(server, 11, start=11)
    second = (await supervisor.until("complaint", event="batch"))["batch"]
    assert second["id"] != first["id"]
    assert len(second["complaint_ids"]) == 11


async def closed_complaint(server: Server, player: str, topic: str = "recharge") -> None:
    supervisor_id = (await server.new_agent("质检", f"q-{player}", role="supervisor"))["id"]
    customer = await complain(server, topic, "第一次", player=server.player(player))
    row = await row_of(server, customer.chat_id)
    await walk(server, row["id"], "closed", supervisor_id)


@pytest.mark.parametrize(("days", "repeat"), [(90.0, True), (90.0 + 1 / DAY, False)])
async def test_repeat_within_90_days_of_a_closed_complaint(
    server: Server, days: float, repeat: bool
) -> None:
    await closed_complaint(server, "p-42")
    await server.advance(days * DAY)
    again = await complain(server, "recharge", "又没到账", player=server.player("p-42"))
    row = await row_of(server, again.chat_id)
    assert ("repeat" in reasons(row)) is repeat
    assert row["class"] == ("urgent" if repeat else "ordinary")


async def test_repeat_needs_the_same_customer_and_topic_and_a_closed_complaint(
    server: Server,
) -> None:
    await closed_complaint(server, "p-1", "recharge")
    other_topic = await complain(server, "account", "x", player=server.player("p-1"))
    other_customer = await complain(server, "recharge", "x", player=server.player("p-2"))
    # p-3's first complaint is still open: a second one is no repeat.
    await complain(server, "recharge", "x", player=server.player("p-3"))
    open_again = await complain(server, "recharge", "y", player=server.player("p-3"))
    for customer in (other_topic, other_customer, open_again):
        assert "repeat" not in reasons(await row_of(server, customer.chat_id))


async def test_vip_complaint_is_urgent_and_pushed_to_supervisors(server: Server) -> None:
    supervisor = await server.supervisor()
    busy = await server.supervisor("值班主管", "9002")
    customer = await complain(server, player=server.player("p-gold", tier="VIP2"))
    for peer in (supervisor, busy):
        alert = await peer.until("complaint", event="urgent")
        assert alert["complaint"]["chat_id"] == customer.chat_id
        assert alert["complaint"]["reasons"] == ["important_customer"]
    # S-classes: urgent complaints get a shorter deadline, and the customer is told so.
    ack = [
        m
        for m in (await detail(server, alert["complaint"]["id"]))["transcript"]
        if m.get("template") == "complaint_ack"
    ]
    assert "24小时" in ack[0]["text"]


async def test_ordinary_complaints_are_not_pushed(server: Server) -> None:
    supervisor = await server.supervisor()
    await complain(server, player=server.player("p-plain", tier="normal"))
    await supervisor.quiet_for("complaint")


async def test_sensitive_flag_makes_the_customers_complaints_urgent(server: Server) -> None:
    supervisor = await server.supervisor()
    customer = await complain(server, player=server.player("p-media"))
    row = await row_of(server, customer.chat_id)
    assert row["class"] == "ordinary"

    response = await server.http.patch(
        f"/api/v1/customers/{row['customer']['id']}", json={"sensitive": True}
    )
    assert response.status_code == 200, response.text
    assert response.json()["sensitive"] is True
    flagged = await row_of(server, customer.chat_id)
    assert reasons(flagged) == {"sensitive_customer"}
    assert flagged["due_at"] == "2026-01-06T09:00:00Z"

    later = await complain(server, "account", "又来", player=server.player("p-media"))
    assert reasons(await row_of(server, later.chat_id)) == {"sensitive_customer"}
    await supervisor.until("complaint", event="urgent")


async def test_staff_set_and_remove_reasons(server: Server) -> None:
    owner = await server.new_agent("组长", "7001", role="supervisor")
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)

    changed = await patch(
        server,
        row["id"],
        add_reasons=["major", "cross_region"],
        owner_id=owner["id"],
        comment="媒体已关注",
    )
    assert reasons(changed) == {"major", "cross_region"} and changed["class"] == "urgent"
    assert changed["answer_due_at"] == "2026-01-06T09:00:00Z"
    back = await patch(server, row["id"], remove_reasons=["major", "cross_region"])
    assert back["class"] == "ordinary" and back["answer_due_at"] == "2026-01-07T09:00:00Z"
    actions = [(e["action"], e["from"], e["to"]) for e in back["history"]]
    assert ("reason_added", None, "major") in actions
    assert ("reason_removed", "major", None) in actions
    assert back["history"][-1]["actor"] == "admin"

    # Automatic reasons are the server's to set.
    response = await server.http.patch(
        f"/api/v1/complaints/{row['id']}", json={"add_reasons": ["batch"]}
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_request"


async def test_eleven_guest_tabs_of_one_browser_raise_no_batch(server: Server) -> None:
    """S-classes batch counts people: one browser's tabs share its device id and address."""
    supervisor = await server.supervisor()
    for n in range(11):
        await complain(
            server, "recharge", f"第{n}个标签页", device="browser-1", address="203.0.113.9"
        )
    # A script that forges a device id per tab still comes from one address.
    for n in range(11):
        await complain(server, "recharge", f"脚本{n}", device=f"forged-{n}", address="203.0.113.10")
    assert not any("batch" in reasons(row) for row in await rows(server))
    assert await batch_alerts(supervisor) == []
    # Those were two people: 8 others make 10, no batch; the 9th others makes 11, a batch.
    await many(server, 8)
    assert await batch_alerts(supervisor) == []
    await many(server, 1, start=8)
    [alert] = await batch_alerts(supervisor)
    assert alert["batch"]["customers"] == 11
    assert len(alert["batch"]["complaint_ids"]) == 22 + 9


async def test_players_behind_one_address_count_each(server: Server) -> None:
    """Signed-in players are counted by their verified id, whatever address they share."""
    for n in range(11):
        player = server.player(f"cafe-{n}")
        await complain(
            server, "recharge", "网吧里充值没到账", player=player, address="203.0.113.20"
        )
    assert all("batch" in reasons(row) for row in await rows(server))

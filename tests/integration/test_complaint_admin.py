"""The notification table over the admin API: filters, pages, sorting, CSV, customers."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from service.complaints import queries
from tests.support.complaints import complain, file, patch, row_of, rows, walk
from tests.support.server import Server

HOUR = 3600.0


async def desk(server: Server) -> dict[str, Any]:
    """A small desk: four complaints of different kinds, an hour apart."""
    owner = await server.new_agent("组长", "7001", role="supervisor")
    guest = await complain(server, "recharge", "充值没到账")
    await server.advance(HOUR)
    vip = await complain(
        server, "account", "=cmd|' /C calc'!A0", player=server.player("p-vip", "李雷", "vip1")
    )
    await server.advance(HOUR)
    # The agent comes online now: the two chats above were complained about before anyone took them.
    agent = await server.agent("小王", "1001")
    filed = await server.customer(player=server.player("p-9", "韩梅梅"))
    await agent.until("assigned", chat_id=filed.chat_id)
    await file(agent, filed.chat_id, "gameplay", "活动奖励未发放", {"amount": "30"})
    await server.advance(HOUR)
    drafted = await server.customer()
    await drafted.say("我要投诉")
    ids = {
        name: (await row_of(server, c.chat_id))["id"]
        for name, c in (("guest", guest), ("vip", vip), ("filed", filed), ("draft", drafted))
    }
    await walk(server, ids["vip"], "acknowledged", owner["id"])
    return {"ids": ids, "owner": owner, "agent": agent.info["agent"], "vip": vip}


async def ids_for(server: Server, **params: Any) -> list[int]:
    return [row["id"] for row in await rows(server, **params)]


async def test_filters_select_the_right_rows(server: Server) -> None:
    world = await desk(server)
    ids, owner = world["ids"], world["owner"]["id"]
    cases: list[tuple[dict[str, Any], list[str]]] = [
        ({"status": "open"}, ["filed", "guest"]),
        ({"status": ["open", "draft"]}, ["draft", "filed", "guest"]),
        ({"class": "urgent"}, ["vip"]),
        ({"class": "ordinary"}, ["draft", "filed", "guest"]),
        ({"reason": "important_customer"}, ["vip"]),
        ({"reason": "batch"}, []),
        ({"topic": ["recharge", "gameplay"]}, ["filed", "guest"]),
        ({"source": "keyword"}, ["draft"]),
        ({"owner": owner}, ["vip"]),
        ({"owner": "none"}, ["draft", "filed", "guest"]),
        ({"agent_id": world["agent"]["id"]}, ["draft", "filed"]),
        ({"player_id": "p-vip"}, ["vip"]),
        ({"since": "2026-01-05T10:00:00Z", "until": "2026-01-05T11:00:00Z"}, ["vip"]),
        ({"since": "2026-01-05T11:00:00+02:00"}, ["draft", "filed", "guest", "vip"]),
        ({"overdue": "false"}, ["draft", "filed", "guest", "vip"]),
        ({"overdue": "true"}, []),
    ]
    for params, expected in cases:
        assert await ids_for(server, sort="id", **params) == sorted(
            ids[name] for name in expected
        ), params
    customer_id = (await row_of(server, world["vip"].chat_id))["customer"]["id"]
    assert await ids_for(server, customer_id=customer_id) == [ids["vip"]]


async def test_overdue_filter_follows_the_clock(server: Server) -> None:
    world = await desk(server)
    await server.advance(24 * HOUR)  # the VIP row's urgent deadline has passed
    assert await ids_for(server, overdue="true") == [world["ids"]["vip"]]
    await server.advance(24 * HOUR)
    assert await ids_for(server, overdue="true", sort="id") == sorted(
        world["ids"][name] for name in ("guest", "filed", "vip")
    )


async def test_pages_and_sorting(server: Server) -> None:
    world = await desk(server)
    ids = world["ids"]
    first = await server.http.get("/api/v1/complaints", params={"limit": 3, "sort": "-created_at"})
    body = first.json()
    assert (body["total"], body["limit"], body["offset"]) == (4, 3, 0)
    assert [r["id"] for r in body["items"]] == [ids["draft"], ids["filed"], ids["vip"]]
    rest = await server.http.get(
        "/api/v1/complaints", params={"limit": 3, "offset": 3, "sort": "-created_at"}
    )
    assert [r["id"] for r in rest.json()["items"]] == [ids["guest"]]
    # Rows without a deadline (the draft) come last either way.
    assert await ids_for(server, sort="due_at") == [
        ids["vip"],
        ids["guest"],
        ids["filed"],
        ids["draft"],
    ]
    assert (await ids_for(server, sort="-due_at"))[-1] == ids["draft"]
    assert (await ids_for(server, sort="-urgent"))[0] == ids["vip"]
    # Several keys, the first deciding: the urgent row, then the rest by their deadlines.
    assert await ids_for(server, sort=["-urgent", "due_at"]) == [
        ids["vip"],
        ids["guest"],
        ids["filed"],
        ids["draft"],
    ]
    assert await ids_for(server, sort=["urgent", "-created_at"]) == [
        ids["draft"],
        ids["filed"],
        ids["guest"],
        ids["vip"],
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"sort": "summary"},
        {"sort": "id; drop table complaints"},
        {"sort": ["id", "-due_at", "topic", "status"]},  # four keys: three at most
        {"status": "lost"},
        {"class": "vip"},
        {"owner": "me"},
        {"limit": 0},
        {"limit": 501},
        {"since": "2026-01-05T10:00:00"},  # no zone
        {"colour": "red"},
    ],
)
async def test_bad_list_queries_are_422(server: Server, params: dict[str, Any]) -> None:
    response = await server.http.get("/api/v1/complaints", params=params)
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invalid_request"


async def test_unknown_topic_filter_is_refused(server: Server) -> None:
    response = await server.http.get("/api/v1/complaints", params={"topic": "weather"})
    assert (response.status_code, response.json()["code"]) == (422, "unknown_topic")


async def test_csv_export_has_every_matching_row(server: Server) -> None:
    world = await desk(server)
    response = await server.http.get(
        "/api/v1/complaints/export.csv", params={"status": ["open", "acknowledged"], "sort": "id"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert "complaints.csv" in response.headers["content-disposition"]
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    table = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
    assert [int(line["id"]) for line in table] == sorted(
        world["ids"][name] for name in ("guest", "vip", "filed")
    )
    vip = next(line for line in table if int(line["id"]) == world["ids"]["vip"])
    assert (vip["status"], vip["class"], vip["reasons"]) == (
        "acknowledged",
        "urgent",
        "important_customer",
    )
    assert (vip["player_id"], vip["customer_name"], vip["tier"]) == ("p-vip", "李雷", "vip1")
    assert vip["summary"] == "'=cmd|' /C calc'!A0"  # never a formula in a spreadsheet
    filed = next(line for line in table if int(line["id"]) == world["ids"]["filed"])
    assert filed["facts"] == '{"amount": "30"}'
    assert filed["opened_at"] == "2026-01-05T11:00:00Z"


async def test_export_pages_through_every_row_in_order(server: Server) -> None:
    for n in range(5):
        await complain(server, "recharge", f"第{n}位")
    async with server.runtime.units.read() as session:
        pages = [
            [card.id for card in chunk]
            async for chunk in queries.stream(
                session, queries.Filters(), ["-id"], server.clock.now(), chunk=2
            )
        ]
    assert pages == [[5, 4], [3, 2], [1]]
    response = await server.http.get("/api/v1/complaints/export.csv")
    lines = response.content.decode().removeprefix("\ufeff").strip().split("\r\n")
    assert len(lines) == 6


async def test_detail_and_workflow_vocabulary(server: Server) -> None:
    response = await server.http.get("/api/v1/complaints/workflow")
    vocabulary = response.json()
    assert vocabulary["topics"] == [
        "recharge",
        "account",
        "gameplay",
        "technical",
        "service",
        "other",
    ]
    assert vocabulary["moves"]["acknowledged"] == ["escalated", "resolved"]
    assert "-due_at" in vocabulary["sort_keys"]
    assert vocabulary["staff_reasons"] == ["cross_region", "escalated", "major", "skip_level"]


async def test_customer_tier_and_flag(server: Server) -> None:
    customer = await complain(server, player=server.player("p-5", "小明", "normal"))
    row = await row_of(server, customer.chat_id)
    url = f"/api/v1/customers/{row['customer']['id']}"
    got = (await server.http.get(url)).json()
    assert (got["tier"], got["vip"], got["sensitive"], got["guest"]) == (
        "normal",
        False,
        False,
        False,
    )

    changed = await server.http.patch(url, json={"tier": "vip2"})
    assert (changed.json()["tier"], changed.json()["vip"]) == ("vip2", True)
    assert (await row_of(server, customer.chat_id))["reasons"] == ["important_customer"]
    history = (await server.http.get(f"/api/v1/complaints/{row['id']}")).json()["history"]
    assert history[-1]["action"] == "reason_added" and history[-1]["actor"] == "admin"

    cleared = await server.http.patch(url, json={"tier": None})
    assert cleared.json()["tier"] is None
    for body in ({"sensitive": "maybe"}, {"tier": ""}, {"vip": True}):
        response = await server.http.patch(url, json=body)
        assert response.status_code == 422, body
    assert (await server.http.get("/api/v1/customers/999")).status_code == 404


async def test_history_names_the_admin_token(server: Server) -> None:
    from service.admins import create_admin_token

    async with server.runtime.units() as work:
        token = await create_admin_token(work.session, "质检-张", work.now)
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    response = await server.http.patch(
        f"/api/v1/complaints/{row['id']}",
        json={"comment": "已联系"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.json()["history"][-1]["actor"] == "admin:质检-张"
    unchanged = await patch(server, row["id"], comment="复核")
    assert unchanged["history"][-1]["actor"] == "admin"


async def test_edits_are_recorded_and_closed_rows_are_frozen(server: Server) -> None:
    owner = (await server.new_agent("组长", "7001", role="supervisor"))["id"]
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    edited = await patch(
        server, row["id"], topic="account", summary="账号被盗", facts={"date": "2026-01-04"}
    )
    assert (edited["topic"], edited["summary"], edited["facts"]) == (
        "account",
        "账号被盗",
        {"date": "2026-01-04"},
    )
    assert [e["action"] for e in edited["history"][-3:]] == ["topic", "summary", "facts"]
    for body in (
        {"topic": "weather"},
        {"facts": {"amount": "-3"}},
        {"summary": ""},
        {"status": "closed", "bogus": 1},
    ):
        response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json=body)
        assert response.status_code == 422, body
    await walk(server, row["id"], "closed", owner)
    response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json={"topic": "other"})
    assert (response.status_code, response.json()["code"]) == (409, "invalid_state")


async def test_finished_rows_take_comments_only(server: Server) -> None:
    owner = (await server.new_agent("组长", "7001", role="supervisor"))["id"]
    customer = await complain(server)
    row = await row_of(server, customer.chat_id)
    await walk(server, row["id"], "closed", owner)
    for body in ({"owner_id": None}, {"add_reasons": ["major"]}, {"remove_reasons": ["repeat"]}):
        response = await server.http.patch(f"/api/v1/complaints/{row['id']}", json=body)
        assert (response.status_code, response.json()["code"]) == (409, "invalid_state"), body
    noted = await patch(server, row["id"], comment="客户来电致谢")
    assert (noted["status"], noted["history"][-1]["comment"]) == ("closed", "客户来电致谢")


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/v1/complaints/99999999999999999999", None),
        ("PATCH", "/api/v1/complaints/99999999999999999999", {"comment": "x"}),
        ("GET", "/api/v1/complaints?chat_id=99999999999999999999", None),
        ("GET", "/api/v1/complaints?offset=99999999999999999999", None),
        ("GET", "/api/v1/customers/99999999999999999999", None),
        ("GET", "/api/v1/reports/satisfaction?agent_id=99999999999999999999", None),
        ("PATCH", "/api/v1/complaints/1", {"owner_id": 99999999999999999999}),
    ],
)
async def test_ids_beyond_the_database_range_are_422_not_500(
    server: Server, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await server.http.request(method, path, json=body)
    assert response.status_code == 422, response.text


async def test_frames_with_ids_beyond_the_database_range_are_bad_frames(server: Server) -> None:
    agent = await server.agent()
    huge = 2**64
    await agent.send({"type": "complaint", "chat_id": huge, "topic": "other", "summary": "x"})
    await agent.until("error", code="bad_frame")
    await agent.send({"type": "dismiss_complaint", "complaint_id": huge})
    await agent.until("error", code="bad_frame")


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # The desk built here spans hours of clock time; the timing rules (silent agent, idle
    # customer) would move its chats, and have tests of their own.
    return {"accept_timeout_s": 10**7, "idle_prompt_s": 10**7}

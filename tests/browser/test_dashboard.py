"""The supervisor dashboard: signed in with a supervisor token it shows the desk's unattended
alarm (S-no-unattended), the queue and the agents with their waits (S-max-wait, S-no-silence),
today's reply times with the SLA breaches as charts, the complaint table urgent first with
overdue rows highlighted (S-record, S-complaint-48h), its status moves and history, any chat's
transcript and flagged customers; and it refreshes by itself."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Snap, new_page
from tests.support.complaints import complain, detail
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def dashboard(server: Server, browser: Browser, problems: list[str], token: str) -> Page:
    context = await browser.new_context(
        locale="zh-CN",
        viewport=DESKTOP,  # type: ignore[arg-type]
        timezone_id="Asia/Shanghai",
    )
    await context.clock.install()  # the refresh timer moves when the test says
    page = await new_page(context, problems)
    await page.goto(f"{server.url}/dashboard/")
    await page.locator("#token").fill(token)
    await page.locator("#sign-in").click()
    return page


async def close(server: Server, chat_id: int) -> None:
    response = await server.http.post(f"/api/v1/chats/{chat_id}/close")
    assert response.status_code == 200, response.text


async def supervisor_token(server: Server) -> str:
    response = await server.http.post("/api/v1/tokens", json={"name": "质检-张"})
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


async def test_the_supervisor_dashboard_shows_the_queue_the_reply_time_chart_and_the_complaints(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    # Yesterday a VIP player complained (urgent, due in 24 h); nobody answered it: overdue.
    vip = await complain(server, player=server.player("p-1", "李雷", "vip2"), text="充值没到账")
    await close(server, vip.chat_id)
    await server.advance(25 * 3600)
    # Today: an ordinary complaint, and a customer whom the desk flagged.
    plain = await complain(server, topic="account", text="账号被封了")
    flagged = (await server.http.get(f"/api/v1/chats/{plain.chat_id}")).json()["customer"]
    patched = await server.http.patch(f"/api/v1/customers/{flagged['id']}", json={"flagged": True})
    assert patched.status_code == 200, patched.text
    await close(server, plain.chat_id)

    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    # S-no-unattended: service hours (all day by default) and nobody serving.
    await expect(page.locator("#alarm")).to_contain_text("无人值守")

    # The complaint table: the urgent overdue row first, highlighted.
    rows = page.locator("#complaints tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.nth(0)).to_have_class("complaint is-urgent is-overdue")
    await expect(rows.nth(0)).to_contain_text("重要客户")
    await expect(rows.nth(0)).to_contain_text("已超时")
    await expect(rows.nth(1)).to_have_class("complaint")
    await expect(page.locator("#complaint-count")).to_have_text("2 件 · 1 件超时")
    await expect(page.locator(f'#flagged li[data-customer-id="{flagged["id"]}"]')).to_be_visible()

    # An agent with room for one; two customers: one served late (a breach), one queued.
    agent = await server.agent("小王", "1001", capacity=1)
    served = await server.customer(locale="zh-CN")
    await agent.until("assigned", chat_id=served.chat_id)
    queued = await server.customer(locale="zh-CN")
    await queued.say("有人吗?我充值的钻石没到")
    await served.say("我登不上游戏")
    server.clock.advance(70)
    await agent.say(served.chat_id, "您好,我来帮您看看")
    await served.say("好的,谢谢")
    server.clock.advance(50)

    # The next refresh (every 5 s) shows it all without a reload.
    await page.clock.fast_forward("00:06")
    await expect(page.locator("#alarm")).to_be_hidden()
    queue_row = page.locator(f'#queue tr[data-chat-id="{queued.chat_id}"]')
    await expect(queue_row.locator(".wait")).to_have_text("2 分 0 秒")
    await expect(queue_row.locator(".wait")).to_have_class("wait is-red")
    await expect(page.locator("#kpi-queue .kpi-value")).to_have_text("1")
    me = page.locator(f'#agents tr[data-agent-id="{agent.info["agent"]["id"]}"]')
    await expect(me).to_contain_text("在线 online")
    await expect(me).to_contain_text("1/1")
    await expect(me.locator(".wait")).to_have_text("50 秒(1)")  # 好的,谢谢 waits for an answer
    # The reply-time chart: one reply today, 70 s, over the 60 s line: one breach.
    await expect(page.locator("#reply-chart")).to_have_attribute("data-replies", "1")
    await expect(page.locator("#reply-chart canvas")).to_have_count(1)
    await expect(page.locator("#breach-chart")).to_have_attribute("data-agents", "1")
    await expect(page.locator("#kpi-breaches .kpi-value")).to_have_text("1")
    await expect(page.locator("#reply-note")).to_contain_text("超时 1 次(超过 60 秒)")
    await snap(page, "dashboard")

    # A status move with its history; the urgent row without an owner is refused, saying why.
    await rows.nth(1).click()
    drawer = page.locator("#complaint")
    await expect(drawer).to_have_attribute("data-status", "open")
    await page.locator("#complaint-comment").fill("已联系玩家核实")
    await drawer.locator('.move[data-to="acknowledged"]').click()
    await expect(drawer).to_have_attribute("data-status", "acknowledged")
    history = page.locator("#complaint-history")
    await expect(history).to_contain_text("状态:待受理 open → 已受理 acknowledged")
    await expect(history).to_contain_text("已联系玩家核实")
    moved = await detail(server, int(await drawer.get_attribute("data-complaint-id") or 0))
    assert moved["status"] == "acknowledged"
    assert moved["history"][-1]["actor"] == "supervisor:质检-张"
    await snap(page, "dashboard-complaint")

    await page.locator("#complaint-close").click()
    await rows.nth(0).click()
    await expect(drawer).to_have_attribute("data-status", "open")
    await drawer.locator('.move[data-to="acknowledged"]').click()
    await expect(page.locator("#complaint-error")).to_contain_text("紧急投诉须先指定负责人")
    await expect(drawer).to_have_attribute("data-status", "open")
    urgent = await drawer.get_attribute("data-complaint-id")
    assert problems == [f"409 {server.url}/api/v1/complaints/{urgent}"]  # owner_required
    problems.clear()
    await page.keyboard.press("Escape")

    # Any chat's transcript, from the queue's link.
    await queue_row.locator("button.link").click()
    transcript = page.locator("#transcript")
    await expect(transcript).to_have_attribute("data-chat-id", str(queued.chat_id))
    await expect(transcript.locator(".from-customer")).to_contain_text("有人吗?我充值的钻石没到")
    await expect(transcript.locator(".from-system").first).to_contain_text("欢迎")
    await snap(page, "dashboard-transcript")


async def test_the_dashboard_refuses_an_agents_token_and_an_unknown_one(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    account = await server.new_agent("小王", "1001")
    page = await dashboard(server, browser, problems, account["token"])
    await expect(page.locator("#banner")).to_contain_text("不是主管或管理员")
    await expect(page.locator("#app")).to_have_attribute("data-state", "signed-out")
    await expect(page.locator("#login")).to_be_visible()
    await snap(page, "dashboard-refused")
    await page.locator("#token").fill("kfsup_nobody_holds_this_token")
    await page.locator("#sign-in").click()
    await expect(page.locator("#banner")).to_contain_text(re.compile("Token 无效"))
    # The refusals were 403 and 401 answers; nothing else went wrong.
    assert sorted(p.split()[0] for p in problems) == ["401", "403"]
    problems.clear()

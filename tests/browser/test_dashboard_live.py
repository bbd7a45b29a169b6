"""The supervisor dashboard's live alerts (S-classes, S-callback-24h, S-max-wait,
S-no-unattended) and the chain of owners (S-first-responder) in the console and the dashboard:
an urgent complaint filed over the socket API shows as an alert without a reload, with a chime
and the title bar; an agent who takes a chat handed on sees who held it and how it left them;
the supervisor sees the same chain in the transcript and the drop in the report."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from tests.browser.conftest import DESKTOP, Snap, new_page
from tests.browser.test_dashboard import dashboard, supervisor_token
from tests.integration.test_transfers import held_by, transfer
from tests.support.complaints import complain, file, patch
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
BASE_TITLE = "主管看板 · Supervisor dashboard"


async def test_an_urgent_complaint_appears_as_a_live_alert_without_a_reload(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    alerts = page.locator("#alerts")
    # S-no-unattended: what was there at sign-in is listed, but does not ring.
    await expect(alerts.locator('[data-key="unattended"]')).to_contain_text("无人值守")
    assert await page.locator("html").get_attribute("data-chimes") is None
    assert await page.title() == BASE_TITLE

    # A VIP player complains (S-classes: important customer): urgent.
    vip = await complain(server, player=server.player("p-9", "韩梅梅", "vip3"), text="充值没到账")
    [row] = (await server.http.get("/api/v1/complaints", params={"chat_id": vip.chat_id})).json()[
        "items"
    ]
    assert row["class"] == "urgent"
    await page.clock.fast_forward("00:06")  # the next refresh, no reload
    alert = alerts.locator(f'[data-key="complaint:{row["id"]}"]')
    await expect(alert).to_have_class("alert is-urgent is-new is-unseen")
    await expect(alert).to_contain_text("紧急 重要客户")
    await expect(alert).to_contain_text("韩梅梅")
    await expect(page.locator("html")).to_have_attribute("data-chimes", "1")
    assert await page.title() == f"【紧急 1】{BASE_TITLE}"
    # Urgent first: the new complaint and the empty desk above anything else.
    await expect(alerts.locator(".alert").nth(0)).to_have_class("alert is-urgent")
    await snap(page, "dashboard-live-alert")

    # The same alert on the next refresh is not new: no second chime.
    await page.clock.fast_forward("00:06")
    await expect(alert).to_have_class("alert is-urgent is-unseen")
    await expect(page.locator("html")).to_have_attribute("data-chimes", "1")
    await page.locator("#alerts-seen").click()
    assert await page.title() == BASE_TITLE
    await expect(alert).to_have_class("alert is-urgent")

    # S-max-wait: a customer in line past a minute is an alert too (a warning: no chime).
    waiting = await server.customer(locale="zh-CN")
    await waiting.say("有人吗")
    server.clock.advance(61)
    await page.clock.fast_forward("00:06")
    wait = alerts.locator(f'[data-key="wait:{waiting.chat_id}"]')
    await expect(wait).to_have_class("alert is-warn is-new")
    await expect(wait).to_contain_text("超过 60 秒")
    await expect(page.locator("html")).to_have_attribute("data-chimes", "1")
    # Its link opens the chat's transcript.
    await wait.locator("button.link").click()
    await expect(page.locator("#transcript")).to_have_attribute(
        "data-chat-id", str(waiting.chat_id)
    )


async def test_a_left_message_not_called_back_in_a_day_becomes_an_alert(
    server: Server, browser: Browser, problems: list[str]
) -> None:
    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    customer = await server.customer(locale="zh-CN")
    await customer.send({"type": "leave_message", "contact": "138 0013 8000", "text": "请回电"})
    await customer.until("message", template="leave_message_ack")
    [callback] = (await server.http.get("/api/v1/callbacks")).json()["items"]
    alert = page.locator(f'#alerts [data-key="callback:{callback["id"]}"]')
    await page.clock.fast_forward("00:06")
    await expect(page.locator("#alerts")).to_have_attribute("data-count", "1")  # the empty desk
    await expect(alert).to_have_count(0)
    # S-callback-24h: a day later nobody has called back.
    await server.advance(24 * 3600 + 60)
    await page.clock.fast_forward("00:06")
    await expect(alert).to_have_class("alert is-warn is-new")
    await expect(alert).to_contain_text("留言超时")
    assert await page.locator("html").get_attribute("data-chimes") is None  # a warning


async def test_desktop_notifications_are_opt_in(
    server: Server, browser: Browser, problems: list[str]
) -> None:
    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    notify = page.locator("#notify")
    await expect(notify).to_have_attribute("aria-pressed", "false")
    await page.context.grant_permissions(["notifications"])
    await notify.click()
    await expect(notify).to_have_attribute("aria-pressed", "true")
    await notify.click()
    await expect(notify).to_have_attribute("aria-pressed", "false")


async def console_of(server: Server, context: BrowserContext, problems: list[str]) -> Page:
    account = await server.new_agent("乙", "2002")
    page = await new_page(context, problems)
    await page.goto(f"{server.url}/console/")
    await page.locator("#token").fill(account["token"])
    await page.locator("#connect").click()
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    return page


async def test_the_chain_of_owners_shows_in_the_console_and_the_dashboard(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    first = await server.agent("甲", "2001")
    handed = await held_by(server, first)
    dropped = await held_by(server, first)
    server.clock.advance(30)
    context = await browser.new_context(
        locale="zh-CN",
        viewport=DESKTOP,  # type: ignore[arg-type]
        timezone_id="Asia/Shanghai",
    )
    console = await console_of(server, context, problems)
    second_id = (await server.http.get("/api/v1/agents")).json()[-1]["id"]

    # 甲 hands one chat to 乙 with a note (S-no-blind-transfer): 乙 sees who held it.
    await first.send(transfer(handed.chat_id, to_agent=second_id))
    item = console.locator(f'.chat-item[data-chat-id="{handed.chat_id}"]')
    await expect(item).to_be_visible()
    await item.click()
    owners = console.locator("#owners")
    await expect(owners).to_have_attribute("data-chat-id", str(handed.chat_id))
    await expect(owners).to_have_attribute("data-owners", "2")
    spans = owners.locator(".owner")
    await expect(spans.nth(0)).to_contain_text("甲(2001) 分配接手")
    await expect(spans.nth(0)).to_contain_text("转出")
    await expect(spans.nth(0)).to_have_class("owner")
    await expect(spans.nth(1)).to_contain_text("乙(2002) 转接接手")
    await expect(spans.nth(1)).to_contain_text("当前负责")
    await expect(spans.nth(1)).to_have_class("owner is-current")
    await snap(console, "console-owners")

    # 甲 goes offline: the other chat is dropped (S-first-responder) and 乙 takes it.
    server.clock.advance(30)
    await first.send({"type": "status", "status": "offline"})
    await first.until("unassigned", chat_id=dropped.chat_id, reason="offline")
    other = console.locator(f'.chat-item[data-chat-id="{dropped.chat_id}"]')
    await other.click()
    await expect(owners).to_have_attribute("data-chat-id", str(dropped.chat_id))
    await expect(owners).to_have_attribute("data-owners", "2")
    await expect(spans.nth(0)).to_have_class("owner is-drop")
    await expect(spans.nth(0)).to_contain_text("下线")
    await expect(spans.nth(1)).to_contain_text("乙(2002) 分配接手")

    # The supervisor: the drop per agent, and the chain in the chat's transcript.
    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    first_id = first.info["agent"]["id"]
    drop_row = page.locator(f'#drops tr[data-agent-id="{first_id}"]')
    await expect(drop_row).to_have_attribute("data-dropped", "1")
    await expect(drop_row).to_contain_text("甲")
    await expect(drop_row).to_contain_text("下线 1")
    await drop_row.scroll_into_view_if_needed()
    await snap(page, "dashboard-drops")
    await page.locator("#lookup-id").fill(str(dropped.chat_id))
    await page.locator("#lookup button").click()
    chain = page.locator("#transcript-chain")
    await expect(chain).to_be_visible()
    await expect(chain.locator(".owner")).to_have_count(2)
    await expect(chain.locator(".owner").nth(0)).to_have_class("owner is-drop")
    await expect(chain.locator(".owner").nth(1)).to_contain_text("乙(2002)")
    await snap(page, "dashboard-owners")


async def test_a_complaints_drawer_shows_its_holders(
    server: Server, browser: Browser, problems: list[str]
) -> None:
    first = await server.agent("甲", "2001")
    customer = await held_by(server, first)
    row = await file(first, customer.chat_id)
    second = await server.agent("乙", "2002", status="away")
    server.clock.advance(60)
    await patch(server, row["id"], owner_id=second.info["agent"]["id"])

    page = await dashboard(server, browser, problems, await supervisor_token(server))
    await page.locator(f'#complaints tr[data-complaint-id="{row["id"]}"]').click()
    chain = page.locator("#complaint-chain")
    await expect(chain).to_be_visible()
    holders = chain.locator(".owner")
    await expect(holders).to_have_count(2)
    await expect(holders.nth(0)).to_contain_text("甲(2001) 登记")
    await expect(holders.nth(0)).to_contain_text("主管改派")
    await expect(holders.nth(1)).to_contain_text("乙(2002) 主管指定")
    await expect(holders.nth(1)).to_have_class("owner is-current")

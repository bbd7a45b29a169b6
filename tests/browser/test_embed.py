"""The embed snippet on the demo host page: launcher, signed player, resume, leave a message."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, FrameLocator, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Snap, new_page
from tests.support.server import Server

WELCOME = "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?"
PENDING = re.compile(r"\bis-pending\b")

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def open_demo(
    browser: Browser, server: Server, found: list[str], viewport: dict[str, int] = DESKTOP
) -> Page:
    context = await browser.new_context(locale="zh-CN", viewport=viewport)  # type: ignore[arg-type]
    page = await new_page(context, found)
    await page.goto(f"{server.url}/demo/")
    await expect(page.locator(".launcher")).to_be_visible()
    return page


def chat_frame(page: Page) -> FrameLocator:
    return page.frame_locator("iframe[title='在线客服']")


async def open_chat(page: Page) -> FrameLocator:
    launcher = page.locator(".launcher")
    await launcher.click()
    await expect(launcher).to_have_attribute("aria-expanded", "true")
    chat = chat_frame(page)
    await expect(chat.locator("#chat")).to_have_attribute("data-state", "ready")
    return chat


async def open_console(browser: Browser, server: Server, token: str, found: list[str]) -> Page:
    context = await browser.new_context(locale="zh-CN", viewport=DESKTOP)  # type: ignore[arg-type]
    page = await new_page(context, found)
    await page.goto(f"{server.url}/console/")
    await page.locator("#token").fill(token)
    await page.locator("#connect").click()
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    return page


async def say(where: Page | FrameLocator, text: str) -> None:
    await where.locator("#input").fill(text)
    await where.locator("#input").press("Enter")


async def seqs(chat: FrameLocator) -> list[str]:
    found = await chat.locator(".log .msg").evaluate_all("els => els.map(e => e.dataset.seq)")
    return [str(seq) for seq in found]


@pytest.mark.parametrize("settings_overrides", [{"route_on": "message", "demo": True}])
async def test_a_signed_vip_player_chats_from_the_demo_page_and_resumes_after_a_reload(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    agent = await server.new_agent("小王", "1001")
    console = await open_console(browser, server, agent["token"], problems)

    host = await open_demo(browser, server, problems)
    await expect(host.locator("#who")).to_have_text("演示玩家 · VIP3")
    await snap(host, "demo-closed")
    chat = await open_chat(host)
    await expect(chat.locator(".msg-template-welcome")).to_have_text(re.compile(WELCOME))
    await expect(chat.locator("h1")).to_have_text("星辰游戏客服")
    await expect(chat.locator("#input")).to_be_focused()

    await say(chat, "我充值了 68 元没有到账")
    chat_id = await chat.locator("#chat").get_attribute("data-chat-id")
    item = console.locator(f'.chat-item[data-chat-id="{chat_id}"]')
    await item.click()
    transcript = console.locator("#transcript")
    await expect(transcript.locator(".msg-customer")).to_contain_text("我充值了 68 元没有到账")
    # The console knows the signed player: name, id and VIP tier came through hello.
    await expect(console.locator("#chat-title")).to_have_text("演示玩家")
    await expect(console.locator("#chat-sub")).to_contain_text("demo-vip-001")
    await expect(console.locator("#chat-sub")).to_contain_text("vip3")
    record = (await server.http.get(f"/api/v1/chats/{chat_id}")).json()
    assert (record["customer"]["player_id"], record["customer"]["tier"]) == ("demo-vip-001", "vip3")

    await say(console, "您好,请提供订单号")
    answer = chat.locator(".msg-agent", has_text="您好,请提供订单号")
    await expect(answer.locator(".msg-who")).to_have_text("小王 · 工号 1001")
    await expect(chat.locator("#banner")).to_contain_text("小王(工号 1001)")
    await expect(chat.locator("#announce")).to_contain_text("您好,请提供订单号")
    await snap(host, "demo-chatting")
    await snap(console, "console-with-vip")
    before = await seqs(chat)
    assert before == [str(seq) for seq in range(1, len(before) + 1)]

    # A reload mid-chat: the launcher reopens, the chat resumes, nothing lost or doubled.
    await host.reload()
    chat = chat_frame(host)
    await expect(chat.locator("#chat")).to_have_attribute("data-state", "ready")
    assert await chat.locator("#chat").get_attribute("data-chat-id") == chat_id
    await expect(chat.locator("#banner")).to_contain_text("小王(工号 1001)")
    await say(console, "还在吗?")
    await expect(chat.locator(".msg-agent", has_text="还在吗?")).to_have_count(1)
    assert await seqs(chat) == [*before, str(len(before) + 1)]

    # Closed, a new line shows as a badge on the launcher; kefu('open') opens it again.
    await chat.locator("#minimise").click()
    launcher = host.locator(".launcher")
    await expect(launcher).to_have_attribute("aria-expanded", "false")
    await expect(launcher).to_be_focused()
    await say(console, "订单查到了")
    await expect(host.locator(".badge")).to_have_text("1")
    await snap(host, "demo-unread")
    await host.evaluate("kefu('open')")
    await expect(launcher).to_have_attribute("aria-expanded", "true")
    await expect(host.locator(".badge")).to_be_hidden()
    await expect(chat.locator(".msg-agent", has_text="订单查到了")).to_have_count(1)
    await expect(chat.locator(".msg-customer")).not_to_have_class(PENDING)


async def test_the_demo_page_is_a_guest_without_the_demo_setting(
    server: Server, browser: Browser, problems: list[str]
) -> None:
    host = await open_demo(browser, server, problems)
    await expect(host.locator("#who")).to_contain_text("访客")
    chat = await open_chat(host)
    await expect(chat.locator(".msg-template-welcome")).to_have_text(re.compile(WELCOME))
    chat_id = await chat.locator("#chat").get_attribute("data-chat-id")
    record = (await server.http.get(f"/api/v1/chats/{chat_id}")).json()
    assert record["customer"]["guest"] is True


async def test_a_customer_leaves_a_message_when_nobody_is_online(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    host = await open_demo(browser, server, problems, viewport=PHONE)
    chat = await open_chat(host)
    await expect(chat.locator(".msg-template-nobody_online")).to_have_count(1)
    form = chat.locator("#leave")
    await expect(form).to_be_visible()
    # Offered, not forced: the focus stays in the reply box; the offer reopens the form.
    await expect(chat.locator("#input")).to_be_focused()
    await chat.locator("#leave-cancel").click()
    await expect(form).to_be_hidden()
    await chat.locator("#leave-offer").click()
    await expect(chat.locator("#leave-contact")).to_be_focused()
    await snap(host, "leave-message-form")
    await chat.locator("#leave-contact").fill("+86 138 0013 8000")
    await chat.locator("#leave-text").fill("充值没到账,请回电")
    await chat.locator("#leave-send").click()
    await expect(chat.locator(".msg-template-leave_message_ack")).to_have_count(1)
    await expect(chat.locator(".msg-kind-leave_message")).to_contain_text("充值没到账,请回电")
    await expect(form).to_be_hidden()
    await expect(chat.locator("#ended")).to_be_visible()
    await snap(host, "leave-message-sent")
    callbacks = (await server.http.get("/api/v1/callbacks")).json()
    assert [(c["contact"], c["text"]) for c in callbacks["items"]] == [
        ("+86 138 0013 8000", "充值没到账,请回电")
    ]


async def test_the_widget_speaks_english_when_the_snippet_asks_for_it(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    context = await browser.new_context(locale="zh-CN", viewport=PHONE)  # type: ignore[arg-type]
    page = await new_page(context, problems)
    await page.goto(f"{server.url}/widget/?locale=en")
    await expect(page.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.locator("#send")).to_have_text("Send")
    await expect(page.locator("#connection")).to_have_text("Online")
    await expect(page.locator(".msg-template-welcome")).to_contain_text("welcome")
    await page.locator("#complain").click()
    await expect(page.locator("#complaint-topic")).to_be_focused()
    await page.locator("#complaint-topic").select_option("recharge")
    await page.locator("#complaint-text").fill("Paid 68 yuan on 3 January, no diamonds.")
    await page.locator("#complaint-send").click()
    await expect(page.locator(".msg-template-complaint_ack")).to_have_count(1)
    await expect(page.locator("#complaint")).to_be_hidden()
    await snap(page, "widget-english-complaint")

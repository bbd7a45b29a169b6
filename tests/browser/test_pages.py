"""The customer widget and the agent console, driven in a real Chromium against a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Error, Page, expect

from tests.support.server import Server

WELCOME = "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?"
CLOSING = "非常感谢您对3yx的支持和关注"
PENDING = re.compile(r"\bis-pending\b")

# The pages do not depend on the database; one backend is enough for a browser.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def script_errors() -> Iterator[list[str]]:
    """Uncaught script errors of every page opened with ``new_page``; any of them fails."""
    errors: list[str] = []
    yield errors
    assert errors == []


async def new_page(context: BrowserContext, errors: list[str]) -> Page:
    page = await context.new_page()

    def record(error: Error) -> None:
        errors.append(f"{page.url}: {error}")

    page.on("pageerror", record)
    return page


async def open_widget(
    browser: Browser, server: Server, errors: list[str]
) -> tuple[BrowserContext, Page]:
    # A phone-sized window: the widget must work on a small screen.
    context = await browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 760})
    page = await new_page(context, errors)
    await page.goto(f"{server.url}/widget/")
    await expect(page.locator("#chat")).to_have_attribute("data-state", "ready")
    return context, page


async def open_console(
    browser: Browser, server: Server, token: str, errors: list[str]
) -> tuple[BrowserContext, Page]:
    context = await browser.new_context(locale="zh-CN", viewport={"width": 1200, "height": 760})
    page = await new_page(context, errors)
    await page.goto(f"{server.url}/console/")
    await page.locator("#token").fill(token)
    await page.locator("#connect").click()
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")
    return context, page


async def say(page: Page, text: str) -> None:
    await page.locator("#input").fill(text)
    await page.locator("#input").press("Enter")


async def seqs(page: Page) -> list[str]:
    found = await page.locator(".log .msg").evaluate_all("els => els.map(e => e.dataset.seq)")
    return [str(seq) for seq in found]


async def test_customer_and_agent_hold_a_chat_in_the_browser(
    server: Server, browser: Browser, script_errors: list[str], tmp_path: Path
) -> None:
    _, widget = await open_widget(browser, server, script_errors)
    await expect(widget.locator(".msg-system").first).to_have_text(re.compile(WELCOME))
    chat_id = await widget.locator("#chat").get_attribute("data-chat-id")

    await say(widget, "我的账号登录不上")
    asked = widget.locator(".msg-customer", has_text="我的账号登录不上")
    await expect(asked).to_have_count(1)
    await expect(asked).not_to_have_class(PENDING)
    await expect(widget.locator("#banner")).to_contain_text("排队第 1 位")

    agent = await server.new_agent("小王", "1001")
    _, console = await open_console(browser, server, agent["token"], script_errors)
    await expect(console.locator("#me-name")).to_have_text("小王")
    await expect(console.locator("#me-no")).to_have_text("工号 1001")
    await expect(console.locator("#status")).to_have_value("online")
    await console.locator(f'.chat-item[data-chat-id="{chat_id}"]').click()
    transcript = console.locator("#transcript")
    await expect(transcript.locator(".msg-customer")).to_contain_text("我的账号登录不上")
    await expect(transcript.locator(".msg-system").first).to_contain_text(WELCOME)
    await expect(widget.locator("#banner")).to_contain_text("小王(工号 1001)")

    await say(console, "请问您的账号是多少?")
    await expect(transcript.locator(".msg-agent")).not_to_have_class(PENDING)
    answer = widget.locator(".msg-agent", has_text="请问您的账号是多少?")
    await expect(answer.locator(".msg-who")).to_have_text("小王 · 工号 1001")

    # A reload resumes the same chat: the stored transcript plus exactly what was missed.
    await widget.reload()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    assert await widget.locator("#chat").get_attribute("data-chat-id") == chat_id
    await say(console, "还在吗?")
    await expect(widget.locator(".msg-agent", has_text="还在吗?")).to_have_count(1)
    # Delivery is in seq order, so everything older has arrived (or been dropped as a duplicate).
    # seq 2 is the nobody-online notice: no agent was online when the chat opened.
    assert await seqs(widget) == ["1", "2", "3", "4", "5"]

    # The console's socket drops: it resumes every open chat from the seq it holds.
    async with console.expect_websocket():
        server.runtime.hub.close_address(f"agent:{agent['id']}", 1012, "restart")
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")
    await say(widget, "abc123")
    await expect(transcript.locator(".msg-customer", has_text="abc123")).to_have_count(1)
    assert await seqs(console) == ["1", "2", "3", "4", "5", "6"]
    await widget.screenshot(path=tmp_path / "widget-chatting.png")

    await console.locator("#close-chat").click()
    await console.locator("#close-chat").click()  # the second click confirms
    await expect(widget.locator(".msg-template-closing")).to_contain_text(CLOSING)
    await expect(widget.locator("#ended")).to_be_visible()
    await expect(widget.locator("#input")).to_be_disabled()
    await expect(console.locator(f'.chat-item[data-chat-id="{chat_id}"]')).to_have_attribute(
        "data-status", "closed"
    )
    await expect(console.locator("#input")).to_be_disabled()
    assert await seqs(widget) == ["1", "2", "3", "4", "5", "6", "7"]

    await widget.screenshot(path=tmp_path / "widget.png")
    await console.screenshot(path=tmp_path / "console.png")

    # Starting over forgets the old chat and opens a new one.
    await widget.locator("#new-chat").click()
    await expect(widget.locator("#chat")).not_to_have_attribute("data-chat-id", chat_id or "")
    await expect(widget.locator("#log .msg")).to_have_count(1)
    await expect(widget.locator("#input")).to_be_enabled()


async def test_widget_reconnects_and_resends_what_was_not_acknowledged(
    server: Server, browser: Browser, script_errors: list[str]
) -> None:
    agent = await server.agent("小李", "1002")
    context, widget = await open_widget(browser, server, script_errors)
    assigned = await agent.until("assigned")
    chat_id = assigned["chat_id"]
    await expect(widget.locator("#banner")).to_contain_text("小李")

    # The network goes away and the server drops the socket: the widget keeps retrying.
    await context.set_offline(True)
    server.runtime.hub.close_address(f"customer:{chat_id}", 1012, "restart")
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "reconnecting")
    await say(widget, "断线时写的消息")
    await expect(widget.locator(".msg-customer.is-pending")).to_have_count(1)

    await context.set_offline(False)
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(widget.locator(".msg-customer.is-pending")).to_have_count(0)
    got = await agent.until("message", chat_id=chat_id, sender="customer")
    assert got["text"] == "断线时写的消息"

    await agent.say(chat_id, "收到")
    await expect(widget.locator(".msg-agent", has_text="收到")).to_have_count(1)
    assert await seqs(widget) == ["1", "2", "3"]


async def test_a_refused_resume_token_offers_a_new_chat(
    server: Server, browser: Browser, script_errors: list[str]
) -> None:
    context = await browser.new_context(locale="zh-CN")
    stale = {"chatId": 99, "token": "kfr_gone", "lastSeq": 3, "messages": [], "pending": []}
    await context.add_init_script(
        f"localStorage.setItem('kefu.widget.chat', JSON.stringify({json.dumps(stale)}))"
    )
    widget = await new_page(context, script_errors)
    await widget.goto(f"{server.url}/widget/")
    await expect(widget.locator("#ended")).to_contain_text("已失效")
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "offline")

    await widget.locator("#new-chat").click()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(widget.locator(".msg-template-welcome")).to_have_text(re.compile(WELCOME))
    await expect(widget.locator("#input")).to_be_enabled()

"""The customer widget and the agent console, driven in a real Chromium against a real server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Error,
    Page,
    WebSocketRoute,
    expect,
)
from sqlalchemy import select

from service.complaints.models import Rating
from tests.browser.conftest import Snap
from tests.support.server import Server

WELCOME = "您好,欢迎光临3yx上游戏服务网,请问有什么可以帮您?"
CLOSING = "非常感谢您对3yx的支持和关注"
ANYTHING_ELSE = "请问,还有其它问题吗?"
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


@pytest.mark.parametrize("settings_overrides", [{"route_on": "message"}])  # the default
async def test_customer_and_agent_hold_a_chat_in_the_browser(
    server: Server, browser: Browser, script_errors: list[str], snap: Snap
) -> None:
    _, widget = await open_widget(browser, server, script_errors)
    await expect(widget.locator(".msg-system").first).to_have_text(re.compile(WELCOME))
    chat_id = await widget.locator("#chat").get_attribute("data-chat-id")
    # Not in line until the customer writes: the widget asks for the question.
    await expect(widget.locator("#banner")).to_contain_text("请描述您的问题")
    await snap(widget, "widget-before-first-message")

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

    # Away from the page while the agent writes, then back: the stored transcript plus exactly
    # what was missed. Delivery is in seq order, so once the newest is shown all older are too.
    await widget.goto("about:blank")
    await say(console, "还在吗?")
    await expect(transcript.locator(".msg-agent", has_text="还在吗?")).not_to_have_class(PENDING)
    await widget.goto(f"{server.url}/widget/")
    await expect(widget.locator(".msg-agent", has_text="还在吗?")).to_have_count(1)
    assert await widget.locator("#chat").get_attribute("data-chat-id") == chat_id
    assert await seqs(widget) == ["1", "2", "3", "4", "5"]

    # A reload resumes the same chat; `ready` says who serves it (`assigned` is not replayed).
    await widget.reload()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    assert await widget.locator("#chat").get_attribute("data-chat-id") == chat_id
    await expect(widget.locator("#banner")).to_contain_text("小王(工号 1001)")
    await say(console, "请稍候")
    await expect(widget.locator(".msg-agent", has_text="请稍候")).to_have_count(1)
    # Delivery is in seq order, so everything older has arrived (or been dropped as a duplicate).
    # seq 2 is the nobody-online notice: no agent was online when the chat opened.
    assert await seqs(widget) == ["1", "2", "3", "4", "5", "6"]

    # The console's socket drops: it resumes every open chat from the seq it holds.
    async with console.expect_websocket():
        server.runtime.hub.close_address(f"agent:{agent['id']}", 1012, "restart")
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")
    await say(widget, "abc123")
    await expect(widget.locator(".msg-customer", has_text="abc123")).not_to_have_class(PENDING)
    await expect(transcript.locator(".msg-customer", has_text="abc123")).to_have_count(1)
    assert await seqs(console) == ["1", "2", "3", "4", "5", "6", "7"]
    await snap(widget, "widget-chatting")

    # S-hold: the console's hold button asks the customer to wait.
    await console.locator("#hold-chat").click()
    await expect(widget.locator(".msg-template-hold")).to_have_text(re.compile("请您稍等!"))
    await say(console, "查到了")
    await expect(widget.locator(".msg-agent", has_text="查到了")).to_have_count(1)

    # S-customer-ends: the close asks once more and leaves the customer a grace to answer.
    await console.locator("#close-chat").click()
    await console.locator("#close-chat").click()  # the second click confirms
    await expect(widget.locator(".msg-template-anything_else")).to_contain_text(ANYTHING_ELSE)
    await expect(widget.locator("#banner")).to_contain_text("即将结束")
    item = console.locator(f'.chat-item[data-chat-id="{chat_id}"]')
    await expect(item).to_contain_text("待结束")
    await expect(console.locator("#close-chat")).to_be_hidden()
    await server.advance(server.runtime.settings.close_grace_s)
    await expect(widget.locator(".msg-template-closing")).to_contain_text(CLOSING)
    await expect(widget.locator("#ended")).to_be_visible()
    await expect(widget.locator("#input")).to_be_disabled()
    await expect(item).to_have_attribute("data-status", "closed")
    await expect(console.locator("#input")).to_be_disabled()
    # S-survey: the closing template is followed by the satisfaction survey.
    await expect(widget.locator(".msg-template-survey")).to_have_count(1)
    assert await seqs(widget) == [str(seq) for seq in range(1, 13)]
    # The customer rates on the same socket, once; a reload remembers it.
    await widget.locator('#scores button[data-score="9"]').click()
    await widget.locator("#rating-comment").fill("回复很快")
    await snap(widget, "widget-rating")
    await widget.locator("#rating-send").click()
    await expect(widget.locator("#rating")).to_contain_text("感谢您的评价:9 分")
    await expect(widget.locator("#scores")).to_be_hidden()
    await widget.reload()
    await expect(widget.locator("#rating")).to_contain_text("感谢您的评价:9 分")
    report = (await server.http.get("/api/v1/reports/satisfaction")).json()
    assert (report["overall"]["ratings"], report["overall"]["p50"]) == (1, 9)
    ratings = await server.rows(select(Rating))
    assert [(r.score, r.comment) for r in ratings] == [(9, "回复很快")]

    await snap(widget, "widget-rated")
    await snap(console, "console")

    # Starting over forgets the old chat and opens a new one.
    await widget.locator("#new-chat").click()
    await expect(widget.locator("#chat")).not_to_have_attribute("data-chat-id", chat_id or "")
    await expect(widget.locator("#log .msg")).to_have_count(1)
    await expect(widget.locator("#input")).to_be_enabled()


async def test_widget_resends_a_message_whose_answer_was_lost(
    server: Server, browser: Browser, script_errors: list[str]
) -> None:
    agent = await server.agent("小李", "1002")
    context = await browser.new_context(locale="zh-CN")
    widget = await new_page(context, script_errors)
    sockets: list[WebSocketRoute] = []
    sent: list[dict[str, Any]] = []
    partitioned = False

    def proxy(page_side: WebSocketRoute) -> None:
        sockets.append(page_side)
        server_side = page_side.connect_to_server()

        def to_server(message: str | bytes) -> None:
            sent.append(json.loads(message))
            server_side.send(message)

        def to_page(message: str | bytes) -> None:
            # While partitioned, the widget's frames reach the server but nothing comes back.
            if not (partitioned and page_side is sockets[0]):
                page_side.send(message)

        page_side.on_message(to_server)
        server_side.on_message(to_page)

    await widget.route_web_socket(re.compile(r"/ws/customer$"), proxy)
    await widget.goto(f"{server.url}/widget/")
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    chat_id = (await agent.until("assigned"))["chat_id"]
    await expect(widget.locator("#banner")).to_contain_text("小李")

    partitioned = True
    await say(widget, "断线时写的消息")
    stored = await agent.until("message", chat_id=chat_id, sender="customer")
    assert stored["text"] == "断线时写的消息"
    await expect(widget.locator(".msg-customer.is-pending")).to_have_count(1)

    # The dead socket drops; the widget reconnects and resends with the same client_id.
    await sockets[0].close(code=1006)
    await expect(widget.locator(".msg-customer.is-pending")).to_have_count(0)
    await expect(widget.locator(".msg-customer", has_text="断线时写的消息")).to_have_count(1)
    assert len(sockets) == 2
    resent = [frame for frame in sent if frame["type"] == "message"]
    assert len(resent) == 2
    assert resent[0] == resent[1]
    chat = (await server.http.get(f"/api/v1/chats/{chat_id}")).json()
    assert [m["sender"] for m in chat["messages"]] == ["system", "customer"]

    await agent.say(chat_id, "收到")
    await expect(widget.locator(".msg-agent", has_text="收到")).to_have_count(1)
    assert await seqs(widget) == ["1", "2", "3"]


async def test_a_refused_resume_token_offers_a_new_chat(
    server: Server, browser: Browser, script_errors: list[str]
) -> None:
    context = await browser.new_context(locale="zh-CN")
    stale = {"chatId": 99, "token": "kfr_gone", "lastSeq": 3, "messages": [], "pending": []}
    await context.add_init_script(
        f"sessionStorage.setItem('kefu.widget.chat', JSON.stringify({json.dumps(stale)}))"
    )
    widget = await new_page(context, script_errors)
    await widget.goto(f"{server.url}/widget/")
    await expect(widget.locator("#ended")).to_contain_text("已失效")
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "offline")

    await widget.locator("#new-chat").click()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(widget.locator(".msg-template-welcome")).to_have_text(re.compile(WELCOME))
    await expect(widget.locator("#input")).to_be_enabled()

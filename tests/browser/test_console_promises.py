"""The console's promises (S-callback, S-callback-24h): the callback quick reply's time picker,
the server's refusal shown in it, the task list with its reminder and overdue states, and
keeping a promise from the list."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.browser.conftest import DESKTOP, Snap, new_page
from tests.browser.test_console import local_value
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_callback_picker_refuses_beyond_24_hours_and_the_task_list_follows_it(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    account = await server.new_agent("小王", "1001")
    # The desk's zone: the picker's local time is the time the customer is told.
    context = await browser.new_context(
        locale="zh-CN",
        viewport=DESKTOP,  # type: ignore[arg-type]
        timezone_id="Asia/Shanghai",
    )
    console = await new_page(context, problems)
    await console.goto(f"{server.url}/console/")
    await console.locator("#token").fill(account["token"])
    await console.locator("#connect").click()
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")
    await expect(console.locator("#no-tasks")).to_be_visible()

    customer = await server.customer(locale="zh-CN")
    await console.locator(f'.chat-item[data-chat-id="{customer.chat_id}"]').click()
    await customer.drain()

    # The quick reply opens a time picker, not a text box.
    await console.locator("#input").focus()
    await console.keyboard.press("/")
    await console.keyboard.type("回电")
    await console.keyboard.press("Enter")
    picker = console.locator("#promise-time")
    await expect(picker).to_be_focused()
    assert await picker.get_attribute("type") == "datetime-local"

    # Three days ahead ("3天后"): the server refuses; the picker says why and stays open.
    await picker.fill("2026-01-08T17:00")
    await console.keyboard.press("Enter")
    error = console.locator("#quick-vars .quick-error")
    await expect(error).to_have_text("未约定:约定时间超过 24 小时,请约在 24 小时之内")
    await expect(console.locator("#quick")).to_be_visible()
    await snap(console, "console-promise-refused")
    # No line reached the customer (the console's read receipt may: the chat is on its screen).
    await customer.quiet_for("message")

    # 18:00 today is within the day: sent, and the task appears.
    await picker.fill(await local_value(console, "2026-01-05T10:00:00Z"))
    await console.keyboard.press("Enter")
    told = await customer.until("message", template="callback")
    assert told["text"] == "我会在2026-01-05 18:00答复您,请留下您的联系电话。"
    await expect(console.locator("#quick")).to_be_hidden()
    task = console.locator(".task")
    await expect(task).to_have_count(1)
    await expect(task).to_have_attribute("data-state", "open")
    await expect(task).to_contain_text("约定回电")
    await expect(task).to_contain_text("01/05 18:00")
    await expect(console.locator("#task-count")).to_have_text("1")
    await snap(console, "console-task-list")

    # 17:45: the reminder marks it; 18:00 still open: overdue.
    assert await server.advance(45 * 60) == 1
    await expect(task).to_have_attribute("data-state", "soon")
    await expect(task).to_contain_text("即将到期")
    assert await server.advance(15 * 60) == 1
    await expect(task).to_have_attribute("data-state", "overdue")
    await expect(task).to_contain_text("已超时")
    await expect(console.locator("#banner")).to_contain_text("约定已超时")
    await snap(console, "console-task-overdue")

    # Kept from the list: gone from it, done on the server.
    await task.locator(".task-done").click()
    await expect(task).to_have_count(0)
    await expect(console.locator("#no-tasks")).to_be_visible()
    page = (await server.http.get("/api/v1/promises")).json()
    assert [(p["state"], p["done_by"]) for p in page["items"]] == [
        ("done", f"agent:{account['id']}")
    ]

    # A reload asks for the open promises again: none.
    await console.reload()
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")
    await expect(console.locator("#no-tasks")).to_be_visible()

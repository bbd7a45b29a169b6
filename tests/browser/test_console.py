"""The agent console's tools: notification, waiting clock, suggestions, quick replies, the
guard's refusal with its one-click wording, internal notes and a transfer with a handoff note."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, Snap, new_page
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def signed_in_console(server: Server, browser: Browser, problems: list[str]) -> Page:
    """小王 (1001) signed in to the console, on a page whose clock the test moves."""
    account = await server.new_agent("小王", "1001")
    context = await browser.new_context(locale="zh-CN", viewport=DESKTOP)  # type: ignore[arg-type]
    await context.clock.install()
    console = await new_page(context, problems)
    await console.goto(f"{server.url}/console/")
    await console.locator("#token").fill(account["token"])
    await console.locator("#connect").click()
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")
    return console


async def local_value(page: Page, iso: str) -> str:
    """A datetime-local input's value for ``iso`` in the page's time zone."""
    value: str = await page.evaluate(
        """(iso) => {
            const d = new Date(iso), p = (n) => String(n).padStart(2, "0");
            const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
            return `${day}T${p(d.getHours())}:${p(d.getMinutes())}`;
        }""",
        iso,
    )
    return value


async def say(page: Page, text: str) -> None:
    await page.locator("#input").fill(text)
    await page.locator("#input").press("Enter")


async def test_an_agent_answers_with_the_consoles_tools(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    console = await signed_in_console(server, browser, problems)

    # A new chat: title bar, a chime, the chat marked new.
    customer = await server.customer(locale="zh-CN")
    item = console.locator(f'.chat-item[data-chat-id="{customer.chat_id}"]')
    await expect(item).to_have_attribute("data-fresh", "true")
    await expect(console.locator("html")).to_have_attribute("data-chimes", "1")
    assert (await console.title()).startswith("【新会话】(1)")
    await item.click()
    await expect(item).not_to_have_attribute("data-fresh", "true")
    assert not (await console.title()).startswith("【新会话】")

    # S-max-wait: the customer's wait shows as a clock, amber at 45 s and red at 60 s.
    await customer.say("你们回复太慢了,我登不上游戏")
    clock = item.locator(".chat-wait")
    await expect(clock).to_have_text("0:00")
    await console.clock.fast_forward("00:46")
    await expect(clock).to_have_class("chat-wait is-amber")
    await console.clock.fast_forward("00:15")
    await expect(clock).to_have_class("chat-wait is-red")

    # The guard's suggestions are one-click chips.
    chips = console.locator("#suggestions .suggestion")
    await expect(chips).to_have_count(2)
    await snap(console, "console-suggestions-and-red-clock")
    await chips.filter(has_text="回复慢致歉").click()
    sent = await customer.until("message", sender="agent")
    assert sent["template"] == "slow_reply"
    await expect(chips).to_have_count(1)
    await expect(clock).to_have_count(0)  # answered: the wait is over

    # Quick replies: "/" in the empty box, search, a variable, Enter.
    await console.locator("#input").focus()
    await console.keyboard.press("/")
    await expect(console.locator("#quick")).to_be_visible()
    await expect(console.locator("#quick-search")).to_be_focused()
    await console.keyboard.type("回电")
    await expect(console.locator(".quick-item")).to_have_count(1)
    await snap(console, "console-quick-replies")
    await console.keyboard.press("Enter")
    # S-callback-24h: the callback's time is picked, not typed (tests/browser/
    # test_console_promises.py has the picker's refusals and the task list).
    await console.locator("#promise-time").fill(await local_value(console, "2026-01-05T10:00:00Z"))
    await console.keyboard.press("Enter")
    callback = await customer.until("message", sender="agent")
    assert callback["template"] == "callback" and "2026-01-05 18:00" in callback["text"]
    await expect(console.locator("#quick")).to_be_hidden()
    await expect(console.locator("#input")).to_be_focused()

    # S-forbidden-phrases: refused once, inline, in Chinese; one click sends the standard wording.
    await say(console, "您搞错了吧")
    refused = console.locator(".msg.is-failed")
    await expect(refused).to_have_count(1)
    await expect(refused).to_contain_text("含服务忌语“您搞错了”")
    await expect(console.locator("#error")).to_be_hidden()
    await snap(console, "console-taboo-refused")
    await refused.locator(".use-suggestion").click()
    fixed = await customer.until("message", sender="agent")
    assert fixed["text"] == "我觉得我们的沟通存在误解吧"
    await expect(console.locator(".msg.is-failed")).to_have_count(0)
    answer = console.locator(".msg-agent", has_text="我觉得我们的沟通存在误解吧")
    await expect(answer).to_have_count(1)

    # An internal note stays with the agents.
    await console.locator("#note-mode").check()
    await say(console, "顾客账号疑似被盗,已提交风控")
    note = console.locator(".msg-internal", has_text="顾客账号疑似被盗")
    await expect(note).not_to_have_class("is-pending")
    await expect(note.locator(".msg-who")).to_contain_text("内部备注")
    await console.locator("#note-mode").uncheck()

    # A transfer with a handoff note: the colleague gets the chat with its history and the note.
    colleague = await server.agent("小李", "1002")
    await console.locator("#transfer-chat").click()
    await console.locator("#transfer-to").fill("999")
    await console.locator("#transfer-note").fill("登录问题,已约 18:00 回电")
    await console.locator("#transfer-send").click()
    await expect(console.locator("#transfer-error")).to_have_text("转接失败:没有这位坐席(或已停用)")
    await console.locator("#transfer-to").fill(str(colleague.info["agent"]["id"]))
    await snap(console, "console-transfer")
    await console.locator("#transfer-send").click()
    assigned = await colleague.until("assigned", chat_id=customer.chat_id)
    notes = [m for m in assigned["history"] if m.get("kind") in ("note", "handoff")]
    assert [m["text"] for m in notes] == ["顾客账号疑似被盗,已提交风控", "登录问题,已约 18:00 回电"]
    await expect(item).to_contain_text("已转交")
    await expect(console.locator("#chat-sub")).to_contain_text("给 小李(1002)")
    # S-first-responder: the chain read while it was ours, its end as the console saw it.
    await expect(console.locator("#owners .owner").last).to_contain_text("小王(1001) 分配接手")
    await expect(console.locator("#owners .owner").last).to_contain_text("已转交")
    await expect(console.locator(".msg-who", has_text="交接备注")).to_have_count(1)
    await snap(console, "console-transferred")


async def test_an_agent_holds_corrects_a_line_and_confirms_a_complaint_draft(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    console = await signed_in_console(server, browser, problems)
    customer = await server.customer(locale="zh-CN")
    await console.locator(f'.chat-item[data-chat-id="{customer.chat_id}"]').click()

    # S-hold: the hold button counts the minute, red once it has run out.
    await customer.say("我要投诉,充值 68 元没到账")
    hold = console.locator("#hold-chat")
    await hold.click()
    assert (await customer.until("message", template="hold"))["sender"] == "system"
    await expect(hold).to_have_attribute("data-held", "on")
    await console.clock.fast_forward("01:01")
    await expect(hold).to_have_attribute("data-held", "late")
    await expect(hold).to_contain_text("保持中 1:0")

    # The keyword draft: confirmed with the facts in one form.
    draft = console.locator("#drafts .draft")
    await expect(draft).to_contain_text("投诉")
    await draft.locator(".draft-confirm").click()
    await expect(console.locator("#complaint-form")).to_be_visible()
    await console.locator("#complaint-topic").select_option("recharge")
    await console.locator("#complaint-summary").fill("充值 68 元未到账")
    await console.locator("#complaint-amount").fill("68.00")
    await console.locator("#complaint-order").fill("2026010312345")
    await snap(console, "console-complaint-form")
    await console.locator("#complaint-send").click()
    ack = await customer.until("message", template="complaint_ack")
    assert ack["sender"] == "system"
    await expect(console.locator("#banner")).to_contain_text("投诉已登记")
    await expect(draft).to_have_count(0)
    rows = (await server.http.get("/api/v1/complaints")).json()["items"]
    assert [(r["topic"], r["summary"], r["facts"].get("amount")) for r in rows] == [
        ("recharge", "充值 68 元未到账", "68.00")
    ]

    # S-correction: the wrong line is corrected in place; the customer gets the apology first.
    await console.locator("#input").fill("您的订单号是 2026010312354")
    await console.locator("#input").press("Enter")
    wrong = console.locator(".msg-agent", has_text="2026010312354")
    await expect(hold).not_to_have_attribute("data-held", "on")
    await wrong.hover()
    await wrong.locator(".msg-fix").click()
    await expect(console.locator("#correcting")).to_be_visible()
    await console.locator("#input").fill("您的订单号是 2026010312345")
    await console.locator("#input").press("Enter")
    apology = await customer.until("message", template="correction")
    right = await customer.until("message", sender="agent")
    assert right["text"] == "您的订单号是 2026010312345" and right["corrects"] < apology["seq"]
    await expect(wrong).to_have_class(re.compile(r"\bis-corrected\b"))
    await expect(console.locator("#correcting")).to_be_hidden()
    await snap(console, "console-corrected")

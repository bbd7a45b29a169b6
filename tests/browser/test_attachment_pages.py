"""A customer sends a screenshot of a failed recharge from the widget, the agent sees it in the
console and answers with a picture of their own; read ticks appear on both sides and survive a
reload."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import DESKTOP, PHONE, Snap, new_page
from tests.support.server import TIMEOUT, Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
READ = re.compile(r"\bis-read\b")


def screenshot_png(label: str, colour: tuple[int, int, int]) -> bytes:
    """A phone-shaped picture of a failed payment, as a player would capture it."""
    image = Image.new("RGB", (390, 600), (246, 248, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 390, 70), fill=colour)
    draw.rectangle((40, 200, 350, 330), outline=(207, 34, 46), width=6)
    draw.text((70, 250), label, fill=(207, 34, 46))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


LOADED = """selector => [...document.querySelectorAll(selector)].some(
    img => img.complete && img.naturalWidth > 0 && img.src.includes("/media/files/"))"""


async def loaded(page: Page, selector: str) -> None:
    """The picture has really arrived from its signed link (not a preview, not broken)."""
    await expect(page.locator(selector).first).to_be_visible()
    await page.wait_for_function(LOADED, arg=selector, timeout=TIMEOUT * 1000)


PASTE = """([b64, name]) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const data = new DataTransfer();
    data.items.add(new File([bytes], name, { type: "image/png" }));
    const input = document.getElementById("input");
    input.focus();
    input.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true,
                                                      cancelable: true }));
}"""


async def paste_image(page: Page, png: bytes, name: str = "image.png") -> None:
    await page.evaluate(PASTE, [base64.b64encode(png).decode(), name])


async def say(page: Page, text: str) -> None:
    await page.locator("#input").fill(text)
    await page.locator("#input").press("Enter")


@pytest.mark.parametrize("settings_overrides", [{"route_on": "message"}])
async def test_a_screenshot_reaches_the_agent_and_read_ticks_show_on_both_sides(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    account = await server.new_agent("小王", "1001")
    agent_context = await browser.new_context(locale="zh-CN", viewport=DESKTOP)  # type: ignore[arg-type]
    console = await new_page(agent_context, problems)
    await console.goto(f"{server.url}/console/")
    await console.locator("#token").fill(account["token"])
    await console.locator("#connect").click()
    await expect(console.locator("#app")).to_have_attribute("data-state", "ready")

    customer_context = await browser.new_context(locale="zh-CN", viewport=PHONE)  # type: ignore[arg-type]
    widget = await new_page(customer_context, problems)
    await widget.goto(f"{server.url}/widget/")
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")

    await say(widget, "充值 68 元失败了,截图如下")
    await widget.locator("#file").set_input_files(
        files=[
            {
                "name": "recharge-failed.jpg",  # the name lies; the bytes are a PNG
                "mimeType": "image/jpeg",
                "buffer": screenshot_png("PAYMENT FAILED  -68", (31, 111, 235)),
            }
        ]
    )
    await loaded(widget, ".log .msg-customer[data-seq] .msg-file img")
    await expect(widget.locator(".log .is-pending")).to_have_count(0)

    # The agent sees the screenshot in the transcript.
    chat_id = await widget.locator("#chat").get_attribute("data-chat-id")
    await console.locator(f'.chat-item[data-chat-id="{chat_id}"]').click()
    seen = ".transcript .msg-customer .msg-file img"
    await loaded(console, seen)
    assert await console.locator(seen).get_attribute("alt") == "recharge-failed.png"

    # The console has the chat on screen: the customer's lines turn ✓✓ in the widget.
    customer_lines = widget.locator(".log .msg-customer[data-seq]")
    await expect(customer_lines).to_have_count(2)
    for line in await customer_lines.all():
        await expect(line).to_have_class(READ)
        await expect(line.locator(".msg-tick")).to_have_text("✓✓")

    # The agent answers with words and a picture; the widget is open, so they are read.
    await say(console, "收到,我们马上为您核实订单")
    # A screenshot pasted into the reply box is sent as it is.
    await paste_image(console, screenshot_png("ORDER 20260105-0068: PAID", (26, 127, 55)))
    await loaded(widget, ".log .msg-agent .msg-file img")
    agent_lines = console.locator(".transcript .msg-agent[data-seq]")
    await expect(agent_lines).to_have_count(2)
    for line in await agent_lines.all():
        await expect(line).to_have_class(READ)
        await expect(line.locator(".msg-tick")).to_have_text("✓✓")

    await snap(widget, "customer-sent-a-screenshot")
    await snap(console, "agent-sees-the-screenshot")

    # After a reload the ticks come from `ready`, and the pictures from fresh links.
    await widget.reload()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(customer_lines.locator(".msg-tick")).to_have_text(["✓✓", "✓✓"])
    await loaded(widget, ".log .msg-customer .msg-file img")
    await loaded(widget, ".log .msg-agent .msg-file img")
    await snap(widget, "customer-after-reload")

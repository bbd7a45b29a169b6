"""A real Chromium (Debian's, not Playwright's download) for the page tests.

Without /usr/bin/chromium the tests skip, except under CI=true, where a missing browser fails.
Screenshots go to var/screenshots/<test>/ (KEFU_TEST_SCREENSHOTS moves it), at desktop and
phone sizes; CI keeps that folder as an artifact.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Response,
    async_playwright,
    expect,
)

from tests.support.server import TIMEOUT

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = Path(os.environ.get("KEFU_TEST_SCREENSHOTS", ROOT / "var" / "screenshots"))
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Two animation frames: the layout after a resize (media queries, scrolling) has been painted.
SETTLE = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"
Snap = Callable[[Page, str], Awaitable[None]]
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@pytest.fixture
async def browser(chromium_path: Path) -> AsyncIterator[Browser]:
    expect.set_options(timeout=TIMEOUT * 1000)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=str(chromium_path), args=ARGS)
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def snap(request: pytest.FixtureRequest) -> Snap:
    """``await snap(page, "name")`` saves name-desktop.png and name-phone.png for this test."""
    folder = SCREENSHOTS / request.node.originalname
    folder.mkdir(parents=True, exist_ok=True)

    async def take(page: Page, name: str) -> None:
        before = page.viewport_size
        for label, size in (("desktop", DESKTOP), ("phone", PHONE)):
            await page.set_viewport_size(size)
            await page.evaluate(SETTLE)
            await page.screenshot(path=folder / f"{name}-{label}.png")
        if before:
            await page.set_viewport_size(before)

    return take


@pytest.fixture
def problems() -> Iterator[list[str]]:
    """Script errors and console errors (CSP refusals among them) of every page; any fails."""
    found: list[str] = []
    yield found
    assert found == []


def refused(message: ConsoleMessage) -> bool:
    # A failed load is reported by its response below, where the URL is known (no favicon.ico).
    return message.type == "error" and not message.text.startswith("Failed to load resource")


def failed(response: Response) -> bool:
    return response.status >= 400 and not response.url.endswith("/favicon.ico")


async def new_page(context: BrowserContext, found: list[str]) -> Page:
    page = await context.new_page()
    page.on("pageerror", lambda error: found.append(f"{page.url}: {error}"))
    page.on("response", lambda r: found.append(f"{r.status} {r.url}") if failed(r) else None)
    page.on("console", lambda m: found.append(f"{page.url}: {m.text}") if refused(m) else None)
    return page

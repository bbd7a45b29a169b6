"""The API docs and the pages work with no internet, and their CSP refuses nothing they use."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, Route, expect

from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture
def refusals() -> Iterator[list[str]]:
    """Console errors (CSP refusals among them) and requests that left kefu; any fails."""
    found: list[str] = []
    yield found
    assert found == []


async def offline_page(browser: Browser, server: Server, found: list[str]) -> Page:
    """A page whose every request to anything but kefu fails, as without internet."""
    context: BrowserContext = await browser.new_context(viewport={"width": 1200, "height": 800})

    async def only_kefu(route: Route) -> None:
        if route.request.url.startswith(server.url):
            await route.continue_()
        else:
            found.append(f"left kefu: {route.request.url}")
            await route.abort()

    await context.route("**/*", only_kefu)
    page = await context.new_page()
    page.on("console", lambda m: found.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.append(str(e)))
    return page


async def test_swagger_ui_renders_the_api_without_internet(
    server: Server, browser: Browser, refusals: list[str], tmp_path: Path
) -> None:
    page = await offline_page(browser, server, refusals)
    await page.goto(f"{server.url}/docs")
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("kefu")
    await expect(page.locator(".opblock").first).to_be_visible()
    await page.locator(".opblock-summary").first.click()
    await expect(page.locator(".opblock-body").first).to_be_visible()
    await page.screenshot(path=tmp_path / "docs.png")


async def test_redoc_renders_the_api_without_internet(
    server: Server, browser: Browser, refusals: list[str], tmp_path: Path
) -> None:
    page = await offline_page(browser, server, refusals)
    # ReDoc's "powered by" footer shows Redocly's logo from their CDN; the CSP blocks it and
    # the footer keeps its text. Nothing else may be refused.
    await page.goto(f"{server.url}/redoc")
    await expect(page.locator("h1").first).to_contain_text("kefu")
    await expect(page.locator("[role=menuitem]").first).to_be_visible()
    await page.screenshot(path=tmp_path / "redoc.png")
    refusals[:] = [r for r in refusals if "https://cdn.redoc.ly/redoc/logo-mini.svg" not in r]


async def test_the_pages_csp_refuses_nothing_the_widget_and_console_use(
    server: Server, browser: Browser, refusals: list[str]
) -> None:
    page = await offline_page(browser, server, refusals)
    await page.goto(f"{server.url}/widget/")
    await expect(page.locator("#chat")).to_have_attribute("data-state", "ready")
    agent = await server.new_agent("小王", "1001")
    await page.goto(f"{server.url}/console/")
    await page.locator("#token").fill(agent["token"])
    await page.locator("#connect").click()
    await expect(page.locator("#app")).to_have_attribute("data-state", "ready")

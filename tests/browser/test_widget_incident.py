"""Surge mode in the widget: the open incident's banner, the known-issue answer at once, and
one device id for every tab of a browser (S-classes batch)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.async_api import Browser, expect
from sqlalchemy import select

from service.db.models import Customer
from tests.browser.conftest import Snap
from tests.browser.test_pages import open_widget, say
from tests.support.server import Server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.mark.parametrize("settings_overrides", [{"route_on": "message"}])  # the default
async def test_the_widget_shows_the_incident_and_the_known_issue_answer(
    server: Server, browser: Browser, problems: list[str], snap: Snap
) -> None:
    eta = server.clock.now() + timedelta(hours=1)
    response = await server.http.post(
        "/api/v1/incidents",
        json={
            "title": "登录服务器故障",
            "keywords": ["登不上"],
            "known_issue": "部分玩家无法登录游戏,技术人员正在紧急处理。",
            "eta": eta.isoformat(),
        },
    )
    assert response.status_code == 201, response.text

    context, widget = await open_widget(browser, server, problems)
    banner = widget.locator("#incident")
    await expect(banner).to_be_visible()
    await expect(banner).to_contain_text("登录服务器故障:部分玩家无法登录游戏")
    await expect(banner).to_contain_text("预计")

    await say(widget, "我登不上游戏")
    answer = widget.locator(".msg-system", has_text="您反馈的问题我们已经知悉")
    await expect(answer).to_have_count(1)
    await expect(answer).to_contain_text("2026-01-05 18:00")
    await snap(widget, "widget-incident")

    # A second tab of the same browser sends the same device id.
    second = await context.new_page()
    await second.goto(f"{server.url}/widget/")
    await expect(second.locator("#chat")).to_have_attribute("data-state", "ready")
    devices = await server.rows(select(Customer.device))
    assert len(devices) == 2 and devices[0] is not None and devices[0] == devices[1]

    resolved = await server.http.post(
        f"/api/v1/incidents/{response.json()['id']}/resolve",
        json={"resolution": "登录服务器已恢复,请重新登录。"},
    )
    assert resolved.json()["delivered"] == 1
    await expect(widget.locator(".msg-system", has_text="之前的问题已经解决")).to_have_count(1)
    # The banner goes with the next (re)connect.
    await widget.reload()
    await expect(widget.locator("#chat")).to_have_attribute("data-state", "ready")
    await expect(banner).to_be_hidden()

"""S-no-unattended: when service hours begin with nobody on duty, supervisors are alarmed."""

from __future__ import annotations

import pytest

from tests.support.server import Server


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    # 17:00 in Asia/Shanghai when the clock starts: an hour before the desk opens.
    return {"service_hours": "18:00-23:00"}


async def test_hours_begin_with_nobody_serving_is_an_alarm(server: Server) -> None:
    supervisor = await server.supervisor()
    customer = await server.customer()
    await customer.until("queue")
    assert (await server.armed("hours_begin")).due_at.isoformat() == "2026-01-05T10:00:00+00:00"
    await supervisor.quiet_for("alert")

    assert await server.advance(3600) == 1
    alert = await supervisor.until("alert", kind="desk_unattended")
    assert (alert["at"], alert["queued"]) == ("2026-01-05T10:00:00Z", 1)
    desk = (await server.http.get("/api/v1/desk")).json()
    assert (desk["unattended"], desk["in_service_hours"]) == (True, True)
    # Armed again for tomorrow's opening.
    assert (await server.armed("hours_begin")).due_at.isoformat() == "2026-01-06T10:00:00+00:00"


async def test_hours_begin_with_an_agent_serving_is_quiet(server: Server) -> None:
    supervisor = await server.supervisor()
    await server.agent()
    assert await server.advance(3600) == 1
    await supervisor.quiet_for("alert")

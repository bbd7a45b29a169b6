"""/healthz (the process answers) and /readyz (it can serve: database, bus, background tasks).

``/readyz`` answers 200 with ``status`` ``ok`` or ``degraded`` (Redis away: every message is
still stored and acknowledged, other processes' sockets read it from the database a little
later), and 503 with ``unavailable`` when the database does not answer or a background task is
dead. Degraded stays 200 on purpose: taking every process out of the load balancer because the
shared Redis blinked would turn slower delivery into an outage.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from service.api.auth import RuntimeDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.units.read() as session:
            await session.execute(text("SELECT 1"))
        database = "up"
    except Exception:
        database = "down"
    dead = sorted(runtime.supervisor.dead)
    bus = "up" if runtime.bus.up else "down"
    body: dict[str, Any] = {"database": database, "bus": bus, "dead_tasks": dead}
    if database == "down" or dead:
        return JSONResponse({"status": "unavailable", **body}, status_code=503)
    return JSONResponse({"status": "ok" if bus == "up" else "degraded", **body})

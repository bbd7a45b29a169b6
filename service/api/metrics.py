"""/metrics: the desk's live state for Prometheus, read at scrape time."""

from __future__ import annotations

import hmac
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from service.api.auth import RuntimeDep
from service.db.models import Agent, Chat, ChatStatus, Process
from service.errors import Unauthorized
from service.metrics import DeskMetrics

router = APIRouter(tags=["health"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request, runtime: RuntimeDep) -> Response:
    expected = runtime.settings.metrics_token
    if expected:  # KEFU_METRICS_TOKEN: Prometheus sends it as bearer_token / authorization
        given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise Unauthorized("a metrics bearer token is required (KEFU_METRICS_TOKEN)")
    desk: DeskMetrics = runtime.metrics
    async with runtime.units.read() as session:
        chats = dict(
            (
                await session.execute(
                    select(Chat.status, func.count())
                    .where(Chat.status != ChatStatus.closed)
                    .group_by(Chat.status)
                )
            ).all()
        )
        agents = dict(
            (
                await session.execute(
                    select(Agent.status, func.count())
                    .where(Agent.active.is_(True), Agent.connections > 0)
                    .group_by(Agent.status)
                )
            ).all()
        )
        fresh = runtime.clock.now() - timedelta(seconds=runtime.settings.process_ttl_s)
        processes = await session.scalar(
            select(func.count()).select_from(Process).where(Process.seen_at >= fresh)
        )
        oldest = await session.scalar(
            select(func.min(Chat.queued_at)).where(Chat.status == ChatStatus.queued)
        )
    for status in (ChatStatus.queued, ChatStatus.assigned):
        desk.chats.labels(status.value).set(chats.get(status.value, 0))
    for agent_status in ("online", "away", "offline"):
        desk.agents.labels(agent_status).set(agents.get(agent_status, 0))
    now = runtime.clock.now()
    desk.longest_wait.set((now - oldest).total_seconds() if oldest is not None else 0)
    desk.processes.set(processes or 0)
    desk.processes_expired.set(runtime.heartbeat.expired)
    desk.bus_up.set(1 if runtime.bus.up else 0)
    desk.bus_outages.set(runtime.bus.outages)
    desk.tasks_dead.set(len(runtime.supervisor.dead))
    for task, restarts in runtime.supervisor.restarts.items():
        desk.task_restarts.labels(task).set(restarts)
    for audience, count in runtime.hub.counts().items():
        desk.sockets.labels(audience).set(count)
    return Response(generate_latest(desk.registry), media_type=CONTENT_TYPE_LATEST)

"""A server under test, as its own process: ``python -m bench.server kefu|relay --port N``.

Both kinds run under ``uvicorn.run`` with the flags ``python -m service serve`` uses
(``service.serving.uvicorn_options``), so the floor and kefu differ only in the application.
kefu reads its settings from the environment (``KEFU_DATABASE_URL``, ``KEFU_ADMIN_TOKEN``, …)
as in production, and gets one bench-only timer kind (``bench_wait``) plus ``/bench/timers`` to
arm and count it: phase E stands in with it for the long-wait timer until that kind exists.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import JSONResponse

from bench.relay import create_relay
from service.app import create_app
from service.db.migrate import upgrade
from service.db.models import Timer
from service.db.unit_of_work import Work
from service.runtime import Runtime
from service.serving import tune_gc, uvicorn_options
from service.settings import Settings
from service.timers import arm

BENCH_KIND = "bench_wait"


class GcProbe:
    """How long the server stopped for garbage collection (a pause stalls every socket)."""

    def __init__(self) -> None:
        self.pauses: list[tuple[int, float]] = []
        self._started = 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append((info["generation"], time.perf_counter() - self._started))

    def stats(self) -> dict[str, Any]:
        full = [seconds for generation, seconds in self.pauses if generation == 2]
        every = [seconds for _, seconds in self.pauses]
        return {
            "collections": len(every),
            "full_collections": len(full),
            "total_ms": round(sum(every) * 1000, 1),
            "max_ms": round(max(every, default=0) * 1000, 2),
            "max_full_ms": round(max(full, default=0) * 1000, 2),
        }


GC = GcProbe()


async def gc_stats(_request: Request) -> JSONResponse:
    return JSONResponse(GC.stats())


class ArmTimers(BaseModel):
    count: int = Field(gt=0, le=100_000)
    first_s: float = Field(ge=0)
    last_s: float = Field(ge=0)


class TimerProbe:
    """Counts every firing of a bench timer and how late it ran."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.fired: Counter[str] = Counter()
        self.lateness_ms: list[float] = []
        self.armed = 0
        runtime.scheduler.register(BENCH_KIND, self.fire)

    async def fire(self, work: Work, timer: Timer) -> None:
        late = self.runtime.clock.now() - timer.due_at
        self.fired[timer.key] += 1
        self.lateness_ms.append(late.total_seconds() * 1000)

    async def arm_many(self, request: ArmTimers) -> dict[str, Any]:
        start = self.runtime.clock.now()
        span = max(request.last_s - request.first_s, 0.0)
        chunk = 500
        for base in range(0, request.count, chunk):
            async with self.runtime.units() as work:
                for i in range(base, min(base + chunk, request.count)):
                    offset = request.first_s + span * i / max(request.count - 1, 1)
                    due = start + timedelta(seconds=offset)
                    key = f"{BENCH_KIND}:{self.armed + i}"
                    await arm(work, BENCH_KIND, key, due, {"n": i})
        self.armed += request.count
        return {"armed": request.count, "armed_total": self.armed}

    def stats(self) -> dict[str, Any]:
        counts = Counter(self.fired.values())
        return {
            "armed": self.armed,
            "fired_keys": len(self.fired),
            "fired_once": counts.get(1, 0),
            "fired_more_than_once": sum(n for times, n in counts.items() if times > 1),
            "never_fired": self.armed - len(self.fired),
            "lateness_ms": self.lateness_ms,
        }


def kefu_app() -> FastAPI:
    settings = Settings()
    upgrade(settings.database_url)
    app = create_app(settings)
    probe = TimerProbe(app.state.runtime)

    @app.post("/bench/timers", include_in_schema=False)
    async def arm_timers(request: ArmTimers) -> dict[str, Any]:
        return await probe.arm_many(request)

    @app.get("/bench/timers", include_in_schema=False)
    async def timer_stats() -> dict[str, Any]:
        return probe.stats()

    app.add_route("/bench/gc", gc_stats, include_in_schema=False)

    return app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("kind", choices=["kefu", "relay"])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same flags for both kinds: those of `python -m service serve` (KEFU_WS, …).
    settings = Settings()
    options = uvicorn_options(settings)
    app = kefu_app() if args.kind == "kefu" else create_relay()
    if args.kind == "relay":
        app.add_route("/bench/gc", gc_stats)
    tune_gc()  # as `serve` does, for both kinds
    uvicorn.run(
        app, host="127.0.0.1", port=args.port, log_level="warning", lifespan="on", **options
    )


if __name__ == "__main__":
    main()

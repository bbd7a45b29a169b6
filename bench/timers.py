"""The durable scheduler alone: ``python -m bench.timers sqlite|postgresql [--timers N]``.

A real kefu app (the test harness's server, its clock held still) arms N timers of a kind whose
handler does nothing, moves the clock past them and fires them all (``Scheduler.run_due``):
what is measured is the claim, the batch's transaction and its commit, per timer (the
process's CPU time, every thread counted). docs/benchmarks.md has the results; the timers under
load are phase E of ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from service.clock import ManualClock
from service.db.models import Timer
from service.db.unit_of_work import Work
from service.timers import arm
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import running_server, test_settings

KIND = "bench_nothing"
ARMED_PER_UNIT = 500


async def measure(url: str, count: int) -> dict[str, Any]:
    clock = ManualClock()
    async with running_server(test_settings(url), clock) as server:
        runtime = server.runtime
        fired = 0

        async def nothing(_work: Work, _timer: Timer) -> None:
            nonlocal fired
            fired += 1

        runtime.scheduler.register(KIND, nothing)
        for base in range(0, count, ARMED_PER_UNIT):
            async with runtime.units() as work:
                for n in range(base, min(base + ARMED_PER_UNIT, count)):
                    due = clock.now() + timedelta(seconds=1)
                    await arm(work, KIND, f"{KIND}:{n}", due, {"n": n})
        clock.advance(2)
        wall, cpu = time.perf_counter(), time.process_time()
        while fired < count:
            await runtime.scheduler.run_due()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {
            "timers": count,
            "fired": fired,
            "per_s": round(count / wall),
            "cpu_us_per_timer": round(cpu / count * 1e6),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--timers", type=int, default=5000)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kefu-timers-"))
    template = SqliteTemplate(tmp) if args.backend == "sqlite" else PostgresTemplate()
    url = template.fresh(tmp)
    try:
        print(args.backend, asyncio.run(measure(url, args.timers)))
    finally:
        template.drop()


if __name__ == "__main__":
    main()

"""A new chat's hello alone: ``python -m bench.hello sqlite|postgresql [--hellos N]``.

A real kefu app (the test harness's server on a free port, routing at the first message as by
default) with one agent online; guests' hellos are run one after another exactly as the
customer gateway runs them (service/api/customer_ws.py: a unit of its own, then its frames),
without the socket. Prints the process's CPU time per hello (every thread counted), the
statements the database ran per hello and the driver's time in them. The storm phase of
``make bench`` is thousands of these at once; docs/benchmarks.md has the results.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event

from service.clock import ManualClock
from service.realtime.protocol import CustomerHello
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import running_server, test_settings

WARM_UP = 20


async def measure(url: str, hellos: int) -> dict[str, Any]:
    async with running_server(test_settings(url, route_on="message"), ManualClock()) as server:
        await server.agent("bench", "1", capacity=5)
        runtime = server.runtime

        async def one(n: int) -> None:
            step = runtime.chats.customer_hello_step(
                CustomerHello(type="hello", device=f"bench{n}"), "10.0.0.1"
            )
            async with runtime.units.transaction(durable=False) as work:
                await step(work)
            await runtime.units.committed(work)

        for n in range(WARM_UP):
            await one(n)
        statements: Counter[str] = Counter()
        spent: dict[str, float] = {}
        started: list[float] = []

        def count(*args: Any) -> None:
            statements[args[2].split(None, 1)[0].upper()] += 1
            started.append(time.perf_counter())

        def counted(*args: Any) -> None:
            kind = args[2].split(None, 1)[0].upper()
            spent[kind] = spent.get(kind, 0.0) + time.perf_counter() - started.pop()

        engine = runtime.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "after_cursor_execute", counted)
        wall, cpu = time.perf_counter(), time.process_time()
        for n in range(WARM_UP, WARM_UP + hellos):
            await one(n)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        event.remove(engine, "before_cursor_execute", count)
        event.remove(engine, "after_cursor_execute", counted)
        return {
            "hellos": hellos,
            "wall_us_per_hello": round(wall / hellos * 1e6),
            "cpu_us_per_hello": round(cpu / hellos * 1e6),
            "statements_per_hello": {k: round(v / hellos, 2) for k, v in statements.items()},
            "driver_us_per_hello": {k: round(v / hellos * 1e6) for k, v in spent.items()},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    # Their sockets never open, so the server's stop counts every chat's socket out: keep it
    # to a few hundred.
    parser.add_argument("--hellos", type=int, default=300)
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp())
    template = SqliteTemplate(directory) if args.backend == "sqlite" else PostgresTemplate()
    try:
        result = asyncio.run(measure(template.fresh(directory), args.hellos))
    finally:
        template.drop()
    print(args.backend, result)


if __name__ == "__main__":
    main()

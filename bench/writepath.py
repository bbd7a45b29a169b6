"""The write path alone: ``python -m bench.writepath sqlite|postgresql [--lone] [--messages N]
[--incident]``.

A real kefu app (the test harness's server on a free port) with one agent and ``--chats`` open
chats; their sockets are then closed, so what is measured is the storing of messages, not the
fan-out. Customer messages go to the process's writer (service/db/group_commit.py) exactly as the
customer gateway sends them, ``--chats`` at a time (one batch each), or with ``--lone`` one at a
time (one batch per message, as on an idle server). With ``--incident`` an incident is open
whose keyword every message matches (surge mode's worst case: each message is checked against
it and counts the chat's customer lines). Prints messages per second and the
process's CPU time per message (every thread counted), and the statements the database ran.
docs/benchmarks.md has the results; the full picture is ``make bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event

from service.chats.service import Ack
from service.clock import ManualClock
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import running_server, test_settings

TEXT = "你好,我的账号登录不上 hello"


async def measure(
    url: str, chats: int, messages: int, lone: bool, incident: bool = False
) -> dict[str, Any]:
    async with running_server(test_settings(url), ManualClock()) as server:
        if incident:
            eta = (server.clock.now() + timedelta(hours=1)).isoformat()
            declared = await server.http.post(
                "/api/v1/incidents",
                json={"title": "bench", "keywords": ["登录"], "known_issue": "bench", "eta": eta},
            )
            assert declared.status_code == 201, declared.text
        await server.agent("bench", "1", capacity=chats)
        ids = [(await server.customer()).chat_id for _ in range(chats)]
        for peer in server.peers:
            await peer.close()
        await asyncio.sleep(0.5)
        runtime = server.runtime
        statements: Counter[str] = Counter()
        # Time inside the driver per statement kind (SQL sent, executed, rows read back): what
        # the database costs; the rest of a message's CPU is Python.
        spent: dict[str, float] = dict.fromkeys(("SELECT", "INSERT", "UPDATE", "DELETE"), 0.0)
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

        async def one(n: int) -> Ack:
            store, touches = runtime.chats.customer_message_step(ids[n % chats], f"w{n}", TEXT)
            return await runtime.writer.run(store, touches)

        batches = runtime.writer.stats.batches
        wall, cpu = time.perf_counter(), time.process_time()
        if lone:
            for n in range(messages):
                await one(n)
        else:
            for start in range(0, messages, chats):
                await asyncio.gather(*(one(n) for n in range(start, start + chats)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        return {
            "messages": messages,
            "batches": runtime.writer.stats.batches - batches,
            "msg_per_s": round(messages / wall),
            "cpu_us_per_msg": round(cpu / messages * 1e6),
            "statements_per_msg": {k: round(v / messages, 3) for k, v in statements.items()},
            "driver_us_per_msg": {k: round(v / messages * 1e6) for k, v in spent.items() if v},
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("backend", choices=["sqlite", "postgresql"])
    parser.add_argument("--chats", type=int, default=50)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--lone", action="store_true", help="one message at a time")
    parser.add_argument("--incident", action="store_true", help="an open incident matches all")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kefu-writepath-"))
    template = SqliteTemplate(tmp) if args.backend == "sqlite" else PostgresTemplate()
    url = template.fresh(tmp)
    try:
        result = asyncio.run(measure(url, args.chats, args.messages, args.lone, args.incident))
    finally:
        template.drop()
    shape = "lone" if args.lone else f"batches of {args.chats}"
    print(args.backend, shape, "incident" if args.incident else "", result)


if __name__ == "__main__":
    main()

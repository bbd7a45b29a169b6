"""``python -m bench.run procs``: N kefu processes on one PostgreSQL database and one Redis.

For each N (``--procs``, 1, 2 and 4 by default): a fresh database; N ``bench.server kefu``
processes (the app ``python -m service serve`` runs, with the bench's probes) on it and one
Redis; agents and customers spread over them in turn, so most chats have their customer on one
process and their agent on another (the bus carries every message across); phases A, B and
the rate ladder C (its sustained rate: the last step at p99 <= 20 ms; it goes on past that for
the CPU per message at each rate until the server falls behind); then the audit F (every
acknowledged message stored, no seq gap). Nothing is pinned: the processes, the generator,
PostgreSQL and Redis share the machine's cores, as a deployment on one host does; the server
CPU is summed over the N processes.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.machine import machine_info, postgres_admin, versions
from bench.run import RESULTS, ROOT, audit, generate, server

PLAN: dict[str, Any] = {
    "agents": 40,
    "capacity": 5,
    "chats": 200,
    "storm_per_s": 200,
    "unloaded": 200,
    "ladder": {
        # From 50: one PostgreSQL process alone has ended its first step at 250 on this machine.
        "rates": [50, 100, 250, 500, 750, 1000, 1500, 2000, 3000],
        "step_s": 3,
        "drain_s": 3,
        "agent_share": 0.5,
        "pause_s": 0.5,
        "timers": None,
        "through": True,
    },
}


def one(count: int, redis_url: str, workdir: Path) -> dict[str, Any]:
    token = secrets.token_urlsafe(16)
    with postgres_admin().database() as url:
        env = {
            **os.environ,
            "KEFU_ADMIN_TOKEN": token,
            "KEFU_LOG_LEVEL": "warning",
            "KEFU_LIMITS_EXEMPT": "127.0.0.1,::1",
            "KEFU_DATABASE_URL": url,
            "KEFU_REDIS_URL": redis_url,
        }
        acked_file = workdir / f"procs{count}.acked.json"
        print(f"{count} kefu process(es):", file=sys.stderr, flush=True)
        with contextlib.ExitStack() as stack:
            # One after the other: the first migrates (the others would wait on its lock).
            started = [stack.enter_context(server("kefu", env, core=None)) for _ in range(count)]
            bases = [base for _, base in started]
            pids = [process.pid for process, _ in started]
            load_plan = {
                **{k: PLAN[k] for k in ("agents", "capacity", "chats", "storm_per_s", "unloaded")},
                "ladder": PLAN["ladder"],
                "phases": "ABC",
                "base": bases[0],
                "bases": bases,
                "kind": "kefu",
                "admin_token": token,
                "server_pid": pids[0],
                "server_pids": pids,
                "acked_file": str(acked_file),
            }
            result = generate(load_plan, workdir, f"procs{count}", core=None)
        result["F"] = audit("postgresql", url, acked_file)
    return {"processes": count, **result}


def line(row: dict[str, Any]) -> str:
    c = row["C"]
    passed = [step for step in c["steps"] if step["passed"]]
    best = passed[-1] if passed else None
    at = (
        f"p99 {best['latency']['p99_ms']} ms, server CPU {best['server_cpu']:.0%}"
        f" ({best['server_cpu_us_per_msg']} us/msg)"
        if best
        else "no step passed"
    )
    last = c["steps"][-1]
    cpu = ", ".join(
        f"{s['rate']}: p99 {s['latency']['p99_ms']} ms {s['server_cpu_us_per_msg']} us"
        for s in c["steps"]
    )
    return (
        f"{row['processes']} process(es): {c['max_sustained_rate']:.0f} msg/s sustained at"
        f" p99 <= 20 ms ({at}); stopped by {c['stopped_by']} at {last['rate']} msg/s (server CPU"
        f" {last['server_cpu']:.0%}, {last['server_cpu_us_per_msg']} us/msg); unloaded p50/p99"
        f" {row['B']['latency']['p50_ms']}/{row['B']['latency']['p99_ms']} ms; audit"
        f" {'passed' if row['F']['passed'] else 'FAILED'}\n    per step (rate: p99, server CPU per"
        f" message): {cpu}"
    )


def run(
    counts: list[int],
    redis_url: str,
    started: datetime,
    load_before: tuple[float, float, float],
    noisy: bool,
) -> int:
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        rows = [one(count, redis_url, Path(tmp)) for count in counts]
    out = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-procs.json"
    RESULTS.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "mode": "procs",
                "started": started.isoformat(timespec="seconds"),
                "machine": machine_info(),
                "versions": versions(),
                "load_before": [round(x, 2) for x in load_before],
                "load_after": [round(x, 2) for x in os.getloadavg()],
                "noisy": noisy,
                "pinned": False,
                "plan": PLAN,
                "runs": rows,
            },
            indent=1,
        )
    )
    for row in rows:
        print(line(row), flush=True)
    print(f"results: {out.relative_to(ROOT)}", flush=True)
    return 0 if all(row["F"]["passed"] for row in rows) else 1

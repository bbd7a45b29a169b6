"""The orchestrator: ``python -m bench.run --smoke|--full``.

For each server (the bare relay floor, kefu on SQLite, kefu on PostgreSQL) it starts the server
as its own process on a free port, pinned to core 0, and the load generator pinned to core 1;
runs phases A–E, then phase D on fresh server processes, then audits the database (phase F);
writes one JSON file to ``bench/results/`` and prints one summary line last.

A machine that is already busy makes every number noise: the run records the load average
before it starts and refuses (exit 3) when it is above ``--max-load``, unless ``--allow-noisy``,
in which case every result says it was noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench import report
from bench.machine import machine_info, postgres_admin, versions
from service.privacy.contacts import new_key
from service.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
SERVER_CORE, GENERATOR_CORE = 0, 1

PLANS: dict[str, dict[str, Any]] = {
    "smoke": {
        "agents": 40,
        "capacity": 5,
        "chats": 200,
        "storm_per_s": 200,
        "unloaded": 300,
        "ladder": {
            "rates": [250, 500, 1000, 2000, 4000, 8000],
            "step_s": 2,
            "drain_s": 3,
            "agent_share": 0.5,
            "timer_step_s": 5,
            "pause_s": 0.3,
            "timers": {"at_rate": 2000, "count": 1000, "first_s": 1, "last_before_end_s": 1},
        },
        "idle": 1000,
        "concurrency": 100,
        "deflate_variants": [False],
    },
    "full": {
        "agents": 200,
        "capacity": 5,
        "chats": 1000,
        "storm_per_s": 200,
        "unloaded": 2000,
        "ladder": {
            "rates": [250, 500, 1000, 2000, 4000, 8000, 16000, 32000],
            "step_s": 5,
            "drain_s": 5,
            "agent_share": 0.5,
            "timer_step_s": 15,
            "pause_s": 1,
            "timers": {"at_rate": 2000, "count": 10000, "first_s": 2, "last_before_end_s": 2},
        },
        "idle": 10000,
        "concurrency": 200,
        "deflate_variants": [False, True],
    },
}

# Loose thresholds for CI (bench-smoke): correctness, and a floor ratio no sane change falls below.
SMOKE_MIN_RATIO = 0.05


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pin(pid: int, core: int) -> bool:
    if (os.cpu_count() or 1) < 2:
        return False
    os.sched_setaffinity(pid, {core})
    return True


@contextlib.contextmanager
def server(
    kind: str, env: dict[str, str], core: int | None = SERVER_CORE
) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.server", "kefu" if kind != "floor" else "relay", "--port", str(port)],
        cwd=ROOT,
        env=env,
    )
    if core is not None:
        pin(process.pid, core)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{kind} server exited with {process.returncode}")
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not start")
            time.sleep(0.1)
        yield process, base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def generate(
    plan: dict[str, Any], workdir: Path, name: str, core: int | None = GENERATOR_CORE
) -> dict[str, Any]:
    plan_path, out_path = workdir / f"{name}.plan.json", workdir / f"{name}.out.json"
    plan_path.write_text(json.dumps(plan))
    process = subprocess.Popen(
        [PYTHON, "-m", "bench.load", str(plan_path), str(out_path)], cwd=ROOT
    )
    if core is not None:
        pin(process.pid, core)
    if process.wait() != 0:
        raise RuntimeError(f"load generator failed ({name})")
    result: dict[str, Any] = json.loads(out_path.read_text())
    return result


def audit(kind: str, url: str, acked_file: Path) -> dict[str, Any]:
    """Phase F: every acknowledged message is a stored row, and nothing else was stored."""
    acked = {
        (chat_id, seq, client_id) for chat_id, seq, client_id in json.loads(acked_file.read_text())
    }
    query = "SELECT chat_id, seq, client_id FROM messages WHERE client_id IS NOT NULL"
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(url.split("///", 1)[1])) as db:
            rows = {tuple(row) for row in db.execute(query).fetchall()}
            gaps = db.execute(GAPS).fetchone()[0]
    else:
        rows, gaps = asyncio.run(_pg_audit(url, query))
    missing = len(acked - rows)
    return {
        "acknowledged": len(acked),
        "stored_with_client_id": len(rows),
        "acknowledged_missing": missing,
        "stored_not_acknowledged": len(rows - acked),
        # Gap-free sequences: the messages of every chat are exactly 1..last_seq.
        "chats_with_seq_gaps": gaps,
        "passed": missing == 0 and gaps == 0,
    }


GAPS = """
SELECT COUNT(*) FROM chats c WHERE c.last_seq <> (
    SELECT COUNT(DISTINCT m.seq) FROM messages m
    WHERE m.chat_id = c.id AND m.seq BETWEEN 1 AND c.last_seq
) OR EXISTS (SELECT 1 FROM messages m WHERE m.chat_id = c.id AND (m.seq < 1 OR m.seq > c.last_seq))
"""


async def _pg_audit(url: str, query: str) -> tuple[set[tuple[Any, ...]], int]:
    import asyncpg  # type: ignore[import-untyped]

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = {tuple(r) for r in await connection.fetch(query)}
        gaps = int(await connection.fetchval(GAPS))
    finally:
        await connection.close()
    return rows, gaps


@contextlib.contextmanager
def server_env(kind: str, workdir: Path) -> Iterator[tuple[dict[str, str], str, str]]:
    """The environment a server of ``kind`` runs with, its admin token and its database URL
    ("" for the floor); a PostgreSQL database of its own for the run."""
    token = secrets.token_urlsafe(16)
    # The load comes from this host: no limit applies to it (KEFU_LIMITS_EXEMPT).
    env = {
        **os.environ,
        "KEFU_ADMIN_TOKEN": token,
        "KEFU_LOG_LEVEL": "warning",
        "KEFU_LIMITS_EXEMPT": "127.0.0.1,::1",
        # Required with PostgreSQL (contacts are sealed under it); a new one for each run.
        "KEFU_DATA_KEY": new_key(),
    }
    database: contextlib.AbstractContextManager[str] = contextlib.nullcontext("")
    if kind == "sqlite":
        database = contextlib.nullcontext(f"sqlite+aiosqlite:///{workdir / 'bench.db'}")
    elif kind == "postgresql":
        database = postgres_admin().database()
    with database as url:
        if url:
            env["KEFU_DATABASE_URL"] = url
        yield env, token, url


def run_server(kind: str, mode: str, workdir: Path) -> dict[str, Any]:
    plan = PLANS[mode]
    with server_env(kind, workdir) as (env, token, url):
        tokens_file, acked_file = workdir / f"{kind}.tokens.json", workdir / f"{kind}.acked.json"
        result: dict[str, Any] = {"server": kind}
        print(f"{kind}:", file=sys.stderr, flush=True)
        with server(kind, env) as (process, base):
            load_plan = {
                **{k: plan[k] for k in ("agents", "capacity", "chats", "storm_per_s", "unloaded")},
                "ladder": {**plan["ladder"], "timers": plan["ladder"]["timers"] if url else None},
                "phases": "ABCE",
                "base": base,
                "kind": "kefu" if url else "relay",
                "admin_token": token,
                "server_pid": process.pid,
                "tokens_file": str(tokens_file),
                "acked_file": str(acked_file),
            }
            result.update(generate(load_plan, workdir, kind))
        result["D"] = []
        for deflate in plan["deflate_variants"]:
            print(
                f"  D: {plan['idle']} idle connections, deflate {deflate}",
                file=sys.stderr,
                flush=True,
            )
            with server(kind, env) as (process, base):
                d_plan = {
                    "phases": "D",
                    "base": base,
                    "kind": "kefu" if url else "relay",
                    "server_pid": process.pid,
                    "idle": plan["idle"],
                    "deflate": deflate,
                    "concurrency": plan["concurrency"],
                    "tokens_file": str(tokens_file) if url else None,
                }
                result["D"].append(generate(d_plan, workdir, f"{kind}-d")["D"])
        if url:
            result["F"] = audit(kind, url, acked_file)
    return result


def storm(kinds: list[str], started: datetime, load: tuple[float, ...], noisy: bool) -> int:
    """Phase A of the full plan alone, on each server: a new chat's whole cost, quickly."""
    plan = PLANS["full"]
    rows = []
    with tempfile.TemporaryDirectory(prefix="kefu-storm-") as tmp:
        for kind in kinds:
            with server_env(kind, Path(tmp)) as (env, token, url):
                with server(kind, env) as (process, base):
                    load_plan = {
                        **{k: plan[k] for k in ("agents", "capacity", "chats", "storm_per_s")},
                        "phases": "A",
                        "base": base,
                        "kind": "kefu" if url else "relay",
                        "admin_token": token,
                        "server_pid": process.pid,
                    }
                    print(f"{kind}:", file=sys.stderr, flush=True)
                    rows.append({"server": kind, **generate(load_plan, Path(tmp), kind)["A"]})
    print(
        f"storm {started:%Y-%m-%d %H:%M} UTC, load {load[0]:.2f}{' (noisy)' if noisy else ''}",
        flush=True,
    )
    for row in rows:
        print(json.dumps(row), flush=True)
    return 0


WS_IMPLS = ("websockets", "websockets-sansio", "wsproto")


def ws_matrix(idle: int) -> list[dict[str, Any]]:
    """uvicorn's WebSocket implementations and server-side permessage-deflate, on the floor:
    memory per idle connection (the client offers deflate), unloaded latency, CPU per message."""
    rows: list[dict[str, Any]] = []
    plan = PLANS["smoke"]
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        workdir = Path(tmp)
        for impl in WS_IMPLS:
            for deflate in (False, True):
                env = {
                    **os.environ,
                    "KEFU_WS": impl,
                    "KEFU_WS_PER_MESSAGE_DEFLATE": "true" if deflate else "false",
                }
                print(f"ws {impl}, server deflate {deflate}:", file=sys.stderr, flush=True)
                with server("floor", env) as (process, base):
                    d_plan = {
                        "phases": "D",
                        "base": base,
                        "kind": "relay",
                        "server_pid": process.pid,
                        "idle": idle,
                        "deflate": True,
                        "concurrency": 100,
                        "tokens_file": None,
                    }
                    d = generate(d_plan, workdir, "ws-d")["D"]
                with server("floor", env) as (process, base):
                    load_plan = {
                        **{
                            k: plan[k]
                            for k in ("agents", "capacity", "chats", "storm_per_s", "unloaded")
                        },
                        "ladder": {**plan["ladder"], "rates": [1000], "step_s": 4, "timers": None},
                        "phases": "ABC",
                        "base": base,
                        "kind": "relay",
                        "server_pid": process.pid,
                    }
                    c = generate(load_plan, workdir, "ws-c")
                step = c["C"]["steps"][0]
                rows.append(
                    {
                        "ws": impl,
                        "server_deflate": deflate,
                        "deflate_negotiated": d["deflate_negotiated"],
                        "bytes_per_idle_connection": d["bytes_per_connection"],
                        "unloaded_p50_ms": c["B"]["latency"]["p50_ms"],
                        "unloaded_p99_ms": c["B"]["latency"]["p99_ms"],
                        "cpu_us_per_msg_at_1000": step["server_cpu_us_per_msg"],
                        "p99_ms_at_1000": step["latency"]["p99_ms"],
                    }
                )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("mode", choices=[*sorted(PLANS), "ws", "procs", "storm"])
    parser.add_argument("--servers", default="floor,sqlite,postgresql")
    parser.add_argument(
        "--max-load",
        type=float,
        default=float(os.cpu_count() or 1) / 2,
        help="refuse to run when the 1-minute load average is above this",
    )
    parser.add_argument(
        "--allow-noisy",
        action="store_true",
        help="run on a busy machine anyway; the results say so",
    )
    parser.add_argument(
        "--record", action="store_true", help="append the summary table to docs/benchmarks.md"
    )
    parser.add_argument(
        "--procs", default="1,2,4", help="procs mode: how many kefu processes, each count a run"
    )
    parser.add_argument(
        "--redis-url", default="redis://127.0.0.1:6379/0", help="procs mode: the Redis they share"
    )
    args = parser.parse_args()

    load_before = os.getloadavg()
    noisy = load_before[0] > args.max_load
    if noisy and not args.allow_noisy:
        print(
            f"bench {args.mode}: REFUSED, load average {load_before[0]:.2f} is above"
            f" {args.max_load:.2f} (other work on this machine would be measured too);"
            f" rerun on a quiet machine or pass --allow-noisy",
            flush=True,
        )
        return 3
    settings = Settings()
    started = datetime.now(UTC)
    if args.mode == "procs":
        from bench import procs  # it builds on this module's servers and generator

        counts = [int(n) for n in args.procs.split(",")]
        return procs.run(counts, args.redis_url, started, load_before, noisy)
    if args.mode == "storm":
        return storm(args.servers.split(","), started, load_before, noisy)
    if args.mode == "ws":
        matrix = ws_matrix(idle=2000)
        RESULTS.mkdir(parents=True, exist_ok=True)
        out = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-ws.json"
        out.write_text(
            json.dumps(
                {
                    "started": started.isoformat(timespec="seconds"),
                    "machine": machine_info(),
                    "versions": versions(),
                    "load_before": load_before,
                    "noisy": noisy,
                    "load_after": os.getloadavg(),
                    "matrix": matrix,
                },
                indent=1,
            )
        )
        for row in matrix:
            print(json.dumps(row), flush=True)
        print(f"results: {out.relative_to(ROOT)}", flush=True)
        return 0
    servers: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kefu-bench-") as tmp:
        for kind in args.servers.split(","):
            servers[kind] = run_server(kind, args.mode, Path(tmp))
    run = {
        "mode": args.mode,
        "started": started.isoformat(timespec="seconds"),
        "seconds": round((datetime.now(UTC) - started).total_seconds()),
        "machine": machine_info(),
        "versions": versions(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "noisy": noisy,
        "max_load": args.max_load,
        "pinned": (os.cpu_count() or 1) >= 2,
        "ws": f"{settings.ws}, deflate {'on' if settings.ws_per_message_deflate else 'off'}",
        "servers": servers,
    }
    run["verdict"] = report.verdict(run, smoke_min_ratio=SMOKE_MIN_RATIO)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"{started:%Y%m%dT%H%M%SZ}-{args.mode}.json"
    out.write_text(json.dumps(run, indent=1))
    if args.record:
        report.append_markdown(run, ROOT / "docs" / "benchmarks.md")
    print(f"results: {out.relative_to(ROOT)}", flush=True)
    print(report.summary_line(run), flush=True)
    return 0 if run["verdict"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())

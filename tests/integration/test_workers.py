"""``python -m service serve --workers N``: equal processes on one port, or a clear refusal."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
import websockets

from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import DATA_KEY, FACTOR, free_socket


def _env(database_url: str, port: int, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "KEFU_DATABASE_URL": database_url,
        "KEFU_HOST": "127.0.0.1",
        "KEFU_PORT": str(port),
        "KEFU_ADMIN_TOKEN": "workers-admin-token-0123",
        "KEFU_DATA_KEY": DATA_KEY,
        **more,
    }


def test_workers_on_sqlite_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--workers", "2"],
        env=_env(f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}", 0),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30 * FACTOR,
    )
    assert done.returncode == 2
    assert "--workers needs PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "kefu.db").exists()


def _inodes_of(pid: int) -> set[str]:
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):
            target = os.readlink(fd)
            if target.startswith("socket:["):
                found.add(target[8:-1])
    return found


def _established_on(port: int) -> set[str]:
    """Inodes of the established TCP connections whose local port is ``port``."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "01" and int(local.split(":")[1], 16) == port:
            inodes.add(inode)
    return inodes


def _workers_of(pid: int) -> list[int]:
    """The spawned worker processes (not multiprocessing's resource tracker)."""
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    children = [int(child) for child in text.split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


async def _alive(ws: websockets.ClientConnection) -> bool:
    try:
        await asyncio.wait_for(await ws.ping(), 5 * FACTOR)
    except (websockets.ConnectionClosed, TimeoutError):
        return False
    return True


async def test_two_workers_start_and_both_serve(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    redis_url: str,
    tmp_path: Path,
) -> None:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("workers share PostgreSQL")
    with free_socket() as probe:
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "serve",
        "--workers",
        "2",
        env=_env(database_url, port, KEFU_REDIS_URL=redis_url),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sockets: list[websockets.ClientConnection] = []
    try:
        deadline = time.monotonic() + 60 * FACTOR
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    reply = await http.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                    if reply.status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline, "the workers did not come up"
                assert process.returncode is None, "serve exited"
                await asyncio.sleep(0.2)
        workers = _workers_of(process.pid)
        assert len(workers) == 2, workers
        served: Counter[int] = Counter()
        url = f"ws://127.0.0.1:{port}/ws/customer"
        while len(served) < 2 and len(sockets) < 200:
            ws = await websockets.connect(url, open_timeout=5 * FACTOR)
            sockets.append(ws)
            await ws.send(json.dumps({"type": "hello"}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 5 * FACTOR))
            assert ready["type"] == "ready"
            open_here = _established_on(port)
            held = {pid: len(_inodes_of(pid) & open_here) for pid in workers}
            served = Counter({pid: n for pid, n in held.items() if n})
        print(f"\nsockets per worker after {len(sockets)} customers: {dict(served)}")
        assert len(served) == 2, "both workers serve sockets"

        # A worker killed is replaced by the parent; the port keeps serving meanwhile.
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30 * FACTOR
        while len(now := _workers_of(process.pid)) != 2 or workers[0] in now:
            assert time.monotonic() < deadline, f"no new worker: {now}"
            await asyncio.sleep(0.1)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        sockets = [ws for ws in sockets if await _alive(ws)]  # the killed worker's are gone
        assert sockets, "the other worker's sockets stay"

        process.send_signal(signal.SIGTERM)
        for ws in sockets:
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 15 * FACTOR)
        assert {ws.close_code for ws in sockets} == {1001}
        assert await asyncio.wait_for(process.wait(), 30 * FACTOR) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

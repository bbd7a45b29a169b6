"""Real ``python -m service serve`` processes for the fault tests: started on a free loopback
port against the test's own database and Redis, ready once ``/readyz`` says 200, and stopped
(SIGTERM, then kill -9 past a bound) whatever the test did to them."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.support.server import DATA_KEY, FACTOR, free_socket


@dataclass
class ServeProcess:
    url: str
    process: asyncio.subprocess.Process
    log: Path

    @property
    def ws(self) -> str:
        return self.url.replace("http", "ws", 1)

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


async def serve(
    database_url: str, redis_url: str, log: Path, *, admin: str, **env: str
) -> ServeProcess:
    """One process, its output in ``log``; ``env`` adds or overrides KEFU_* settings."""
    with free_socket() as probe:
        port = probe.getsockname()[1]
    settings = {
        **os.environ,
        "KEFU_DATABASE_URL": database_url,
        "KEFU_REDIS_URL": redis_url,
        "KEFU_HOST": "127.0.0.1",
        "KEFU_PORT": str(port),
        "KEFU_ADMIN_TOKEN": admin,
        "KEFU_DATA_KEY": DATA_KEY,
        "KEFU_ROUTE_ON": "hello",
        "KEFU_LOG_LEVEL": "warning",
        # The load comes from this host, as the bench's does.
        "KEFU_LIMITS_EXEMPT": "127.0.0.1",
        **env,
    }
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "service", "serve", env=settings, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30 * FACTOR
    async with httpx.AsyncClient() as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(url + "/readyz", timeout=1)).status_code == 200:
                    return ServeProcess(url, process, log)
            assert process.returncode is None, f"a server exited: {log}"
            assert time.monotonic() < deadline, "a server did not come up"
            await asyncio.sleep(0.1)


async def stop_all(servers: Iterable[ServeProcess]) -> None:
    """SIGTERM to every one still running, kill -9 to any still there after the bound."""
    servers = list(servers)
    for server in servers:
        if server.process.returncode is None:
            server.process.send_signal(signal.SIGTERM)
    for server in servers:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.process.wait(), 15 * FACTOR)
        if server.process.returncode is None:
            server.process.kill()
            await server.process.wait()

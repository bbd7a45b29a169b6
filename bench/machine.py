"""What the numbers were measured on: the machine, the versions, and a scratch PostgreSQL db.

Nothing here names the machine: no host name, no path, no credential goes into a result.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from sqlalchemy.engine import make_url

# Where the bench creates (and drops) its PostgreSQL database; like the tests' default.
POSTGRES_URL = os.environ.get(
    "KEFU_BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
PACKAGES = (
    "uvicorn",
    "websockets",
    "starlette",
    "fastapi",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "uvloop",
    "httptools",
    "pydantic",
)


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def machine_info() -> dict[str, object]:
    memory_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory_kb = int(line.split()[1])
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gb": round(memory_kb / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def versions() -> dict[str, str]:
    found = {name: _version(name) for name in PACKAGES}
    found["sqlite"] = sqlite3.sqlite_version
    found["postgresql"] = _postgres_version()
    found["kefu_commit"] = _commit()
    return found


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "service", "bench"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            timeout=5,
        ).stdout.strip()
        return out.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _postgres_version() -> str:
    try:
        return asyncio.run(postgres_admin().fetchval("SHOW server_version"))
    except Exception:
        return "unreachable"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True)
class PostgresAdmin:
    url: str

    async def fetchval(self, sql: str) -> str:
        import asyncpg  # type: ignore[import-untyped]

        connection = await asyncpg.connect(_dsn(self.url), timeout=5)
        try:
            return str(await connection.fetchval(sql))
        finally:
            await connection.close()

    @contextlib.contextmanager
    def database(self) -> Iterator[str]:
        """A scratch database for one server run, dropped afterwards."""
        name = f"kefu_bench_{os.getpid()}_{secrets.token_hex(3)}"
        asyncio.run(self.fetchval(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(self.url).set(database=name).render_as_string(hide_password=False)
        finally:
            asyncio.run(self.fetchval(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def postgres_admin() -> PostgresAdmin:
    return PostgresAdmin(POSTGRES_URL)

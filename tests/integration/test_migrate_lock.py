"""Processes starting together on a fresh PostgreSQL database migrate one after the other."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections.abc import Iterator

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import POSTGRES_URL, PostgresTemplate, SqliteTemplate, _admin, _dsn
from tests.support.server import DATA_KEY


@pytest.fixture
def fresh_postgres(backend: SqliteTemplate | PostgresTemplate) -> Iterator[str]:
    if isinstance(backend, SqliteTemplate):
        pytest.skip("the advisory lock is PostgreSQL's; the embedded default is one process")
    name = f"kefu_migrate_{secrets.token_hex(4)}"
    asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def migrate(database_url: str) -> tuple[int, bytes]:
    """``python -m service migrate`` in a process of its own, as each container runs it."""
    env = {**os.environ, "KEFU_DATABASE_URL": database_url, "KEFU_DATA_KEY": DATA_KEY}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "service", "migrate", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, err


async def test_four_processes_migrating_at_once_all_succeed(fresh_postgres: str) -> None:
    async with asyncio.timeout(120):
        results = await asyncio.gather(*(migrate(fresh_postgres) for _ in range(4)))
    for code, err in results:
        assert code == 0, err.decode()[-2000:]
    connection = await asyncpg.connect(_dsn(fresh_postgres))
    try:
        versions = await connection.fetch("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert len(versions) == 1

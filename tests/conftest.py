"""Fixtures: every integration test runs against a real server on each selected backend."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as redis

os.environ.setdefault("PYTHONASYNCIODEBUG", "1")

from service.clock import ManualClock
from tests.support.databases import (
    PostgresTemplate,
    SqliteTemplate,
    selected_backends,
)
from tests.support.server import Server, running_server, test_settings


@pytest.fixture(scope="session", params=selected_backends())
def backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SqliteTemplate | PostgresTemplate]:
    template: SqliteTemplate | PostgresTemplate
    if request.param == "sqlite":
        template = SqliteTemplate(tmp_path_factory.mktemp("sqlite"))
    else:
        template = PostgresTemplate()
    yield template
    template.drop()


@pytest.fixture
def database_url(backend: SqliteTemplate | PostgresTemplate, tmp_path: Path) -> str:
    return backend.fresh(tmp_path)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The machine's Redis (a db of its own); skipped when absent, required under CI."""
    url = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = redis.Redis.from_url(url)
    try:
        await client.ping()
    except (OSError, redis.ConnectionError) as exc:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Redis not reachable: {exc}")
        pytest.skip(f"Redis not reachable: {exc}")
    finally:
        await client.aclose()
    yield url


@pytest.fixture
async def server_pair(
    backend: SqliteTemplate | PostgresTemplate,
    database_url: str,
    redis_url: str,
    clock: ManualClock,
    settings_overrides: dict[str, object],
) -> AsyncIterator[tuple[Server, Server]]:
    """Two processes' worth of kefu on one PostgreSQL database and one Redis (skipped on SQLite)."""
    if isinstance(backend, SqliteTemplate):
        pytest.skip("several processes share PostgreSQL, not an SQLite file")
    settings = test_settings(database_url, redis_url=redis_url, **settings_overrides)
    async with running_server(settings, clock) as one, running_server(settings, clock) as two:
        yield one, two


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to run its server with other settings."""
    return {}


@pytest.fixture
async def server(
    database_url: str, clock: ManualClock, settings_overrides: dict[str, object]
) -> AsyncIterator[Server]:
    async with running_server(test_settings(database_url, **settings_overrides), clock) as s:
        yield s

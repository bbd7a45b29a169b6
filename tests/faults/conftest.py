"""Fault tests: real servers and a Redis of the test's own, each test bounded in time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres_server import PostgresProcess
from tests.support.redis_server import RedisProcess


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisProcess]:
    redis = RedisProcess(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


@pytest.fixture
def own_postgres() -> Iterator[PostgresProcess]:
    """A PostgreSQL cluster of the test's own (initdb, its own port), started; never the
    machine's shared server."""
    postgres = PostgresProcess()
    try:
        postgres.init()
        postgres.start()
        yield postgres
    finally:
        postgres.remove()

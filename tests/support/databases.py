"""Fresh, migrated databases for each test, on SQLite and on PostgreSQL.

Each backend is migrated once per run (Alembic, as in production); each test then gets a clean
copy: a copied SQLite file, or a PostgreSQL database emptied with TRUNCATE.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy.engine import make_url

from service.db.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL = os.environ.get(
    "KEFU_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)


def selected_backends() -> list[str]:
    chosen = os.environ.get("KEFU_TEST_BACKENDS", ",".join(BACKENDS))
    return [name.strip() for name in chosen.split(",") if name.strip()]


def postgres_required() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("KEFU_TEST_REQUIRE_POSTGRES") == "1"


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def _admin(sql: str) -> None:
    connection = await asyncpg.connect(_dsn(POSTGRES_URL), timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


class SqliteTemplate:
    def __init__(self, directory: Path) -> None:
        self.template = directory / "template.db"
        upgrade(f"sqlite+aiosqlite:///{self.template}")

    def fresh(self, directory: Path) -> str:
        target = directory / "kefu.db"
        shutil.copyfile(self.template, target)
        return f"sqlite+aiosqlite:///{target}"

    def drop(self) -> None:
        pass


class PostgresTemplate:
    def __init__(self) -> None:
        self.name = f"kefu_test_{os.getpid()}_{secrets.token_hex(3)}"
        try:
            asyncio.run(_admin(f'CREATE DATABASE "{self.name}"'))
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            message = f"PostgreSQL not reachable at {make_url(POSTGRES_URL).host}: {exc}"
            if postgres_required():
                pytest.fail(message)
            pytest.skip(message)
        self.url = (
            make_url(POSTGRES_URL).set(database=self.name).render_as_string(hide_password=False)
        )
        upgrade(self.url)

    def fresh(self, directory: Path) -> str:
        asyncio.run(self._truncate())
        return self.url

    async def _truncate(self) -> None:
        connection = await asyncpg.connect(_dsn(self.url))
        try:
            tables = await connection.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                " AND tablename <> 'alembic_version'"
            )
            names = ", ".join(f'"{row["tablename"]}"' for row in tables)
            await connection.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        finally:
            await connection.close()

    def drop(self) -> None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

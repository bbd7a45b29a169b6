"""Migration 0008 (promises and handovers) goes up on a fresh database and back down."""

from __future__ import annotations

import asyncio

from alembic import command
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.migrate import alembic_config
from tests.integration.test_migrations import empty_database  # noqa: F401  (the fixture)


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
            return set(names)
    finally:
        await engine.dispose()


async def test_promises_and_handovers_tables_come_and_go(empty_database: str) -> None:  # noqa: F811
    config = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"promises", "handovers"} <= await tables(empty_database)
    await asyncio.to_thread(command.downgrade, config, "0007")
    assert not {"promises", "handovers"} & await tables(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"promises", "handovers"} <= await tables(empty_database)

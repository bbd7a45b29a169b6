"""Migrations that change data keep it: a pending timer is still found after the upgrade."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from service.db.migrate import alembic_config
from tests.support.databases import POSTGRES_URL, PostgresTemplate, SqliteTemplate, _admin


@pytest.fixture
async def empty_database(
    backend: SqliteTemplate | PostgresTemplate, tmp_path: Path
) -> AsyncIterator[str]:
    if isinstance(backend, SqliteTemplate):
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"kefu_migrations_{secrets.token_hex(4)}"
    await _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def keys(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT key FROM timers ORDER BY id"))
            return [key for (key,) in rows]
    finally:
        await engine.dispose()


async def test_the_conversation_timer_keeps_its_row_across_the_rename(empty_database: str) -> None:
    url = empty_database
    config = alembic_config(url)
    # env.py runs its own event loop: each alembic command in a thread of its own.
    await asyncio.to_thread(command.upgrade, config, "0006")
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for key, kind in (("clock:5", "long_wait"), ("accept:5", "accept")):
                await connection.execute(
                    text(
                        "INSERT INTO timers (key, kind, due_at, payload, attempts, created_at)"
                        " VALUES (:key, :kind, :at, '{}', 0, :at)"
                    ),
                    {"key": key, "kind": kind, "at": datetime(2026, 1, 5, 9)},
                )
    finally:
        await engine.dispose()

    await asyncio.to_thread(command.upgrade, config, "0007")
    assert await keys(url) == ["conversation:5", "accept:5"]
    await asyncio.to_thread(command.downgrade, config, "0006")
    assert await keys(url) == ["clock:5", "accept:5"]


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_read_receipts_and_attachments_go_up_and_down(empty_database: str) -> None:
    url = empty_database
    config = alembic_config(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"attachments", "signing_keys"} <= await tables(url)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            columns = await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns("chats")}
            )
    finally:
        await engine.dispose()
    assert {"customer_read_seq", "agent_read_seq"} <= columns
    await asyncio.to_thread(command.downgrade, config, "0008")
    assert not {"attachments", "signing_keys"} & await tables(url)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"attachments", "signing_keys"} <= await tables(url)


async def test_the_webhook_tables_come_and_go_with_their_migration(empty_database: str) -> None:
    config = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"webhooks", "webhook_deliveries"} <= await tables(empty_database)
    await asyncio.to_thread(command.downgrade, config, "0010")
    assert not {"webhooks", "webhook_deliveries"} & await tables(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {"webhooks", "webhook_deliveries"} <= await tables(empty_database)


async def test_the_owner_events_table_comes_and_goes_with_its_migration(
    empty_database: str,
) -> None:
    config = alembic_config(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert "owner_events" in await tables(empty_database)
    await asyncio.to_thread(command.downgrade, config, "0012-1")
    assert "owner_events" not in await tables(empty_database)
    assert "chats" in await tables(empty_database)
    await asyncio.to_thread(command.upgrade, config, "head")
    assert "owner_events" in await tables(empty_database)


async def columns_of(url: str, table: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda c: {column["name"] for column in inspect(c).get_columns(table)}
            )
    finally:
        await engine.dispose()


async def test_the_incident_tables_come_and_go_with_their_migration(empty_database: str) -> None:
    config = alembic_config(empty_database)
    surge = {"incidents", "incident_links", "incident_deliveries"}
    await asyncio.to_thread(command.upgrade, config, "head")
    assert surge <= await tables(empty_database)
    assert {"device", "address"} <= await columns_of(empty_database, "customers")
    assert "follow_up" in await columns_of(empty_database, "callbacks")
    await asyncio.to_thread(command.downgrade, config, "0013")
    assert not surge & await tables(empty_database)
    assert not {"device", "address"} & await columns_of(empty_database, "customers")
    assert "follow_up" not in await columns_of(empty_database, "callbacks")
    await asyncio.to_thread(command.upgrade, config, "head")
    assert surge <= await tables(empty_database)

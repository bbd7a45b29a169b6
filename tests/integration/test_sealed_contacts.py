"""S-privacy: the contact a customer leaves is sealed at rest (docs/privacy.md); the admin API
opens it for callers with ``pii`` (tests/integration/test_pii_masking.py has the masks)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from pydantic import ValidationError
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import create_async_engine

from service.clock import ManualClock
from service.db.migrate import alembic_config
from service.db.models import Callback
from service.privacy.contacts import SEALED, UNREADABLE, Sealer, keys_of, new_key
from service.settings import Settings
from tests.support.server import DATA_KEY, Server, running_server, test_settings

PHONE = "13800138000"
EMAIL = "wang.xiaoming@example.com"


async def leave(server: Server, contact: str) -> None:
    customer = await server.customer()
    await customer.send({"type": "leave_message", "contact": contact, "text": "请回电"})
    await customer.until("message", template="leave_message_ack")


async def raw_contacts(url: str) -> list[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            rows = await connection.execute(text("SELECT contact FROM callbacks ORDER BY id"))
            return [contact for (contact,) in rows]
    finally:
        await engine.dispose()


async def test_the_stored_contact_holds_no_plaintext_and_admins_read_it(server: Server) -> None:
    await leave(server, PHONE)
    await leave(server, EMAIL)
    stored = await server.rows(select(Callback.contact).order_by(Callback.id))
    assert all(value.startswith(SEALED) for value in stored), stored
    assert not any(PHONE in value or EMAIL in value or "8000" in value for value in stored)
    page = (await server.http.get("/api/v1/callbacks")).json()
    assert [item["contact"] for item in page["items"]] == [PHONE, EMAIL]
    # The customer's own export has it in clear too: it is theirs.
    customer_id = page["items"][0]["customer"]["id"]
    export = (await server.http.get(f"/api/v1/customers/{customer_id}/export")).json()
    assert [callback["contact"] for callback in export["callbacks"]] == [PHONE]


async def test_a_rotated_key_still_opens_what_the_old_one_sealed(database_url: str) -> None:
    clock = ManualClock()
    async with running_server(test_settings(database_url), clock) as server:
        await leave(server, PHONE)
    rotated = f"{new_key()},{DATA_KEY}"
    async with running_server(test_settings(database_url, data_key=rotated), clock) as server:
        [item] = (await server.http.get("/api/v1/callbacks")).json()["items"]
        assert item["contact"] == PHONE
    # A key taken out too soon: the page still answers, and says why it cannot show it.
    async with running_server(test_settings(database_url, data_key=new_key()), clock) as server:
        answer = await server.http.get("/api/v1/callbacks")
        assert answer.status_code == 200
        assert answer.json()["items"][0]["contact"] == UNREADABLE


async def test_the_migration_seals_contacts_written_before_it(
    database_url: str, clock: ManualClock
) -> None:
    async with running_server(test_settings(database_url), clock) as server:
        await leave(server, PHONE)
    config = alembic_config(database_url)
    config.attributes["data_keys"] = [DATA_KEY]
    # Back to before the seal: the contact is in clear again, as rows written then were.
    await asyncio.to_thread(command.downgrade, config, "0012")
    assert await raw_contacts(database_url) == [PHONE]
    await asyncio.to_thread(command.upgrade, config, "head")
    [sealed] = await raw_contacts(database_url)
    assert sealed.startswith(SEALED) and PHONE not in sealed
    assert Sealer([DATA_KEY], clock).open(sealed) == PHONE


def test_postgresql_without_a_data_key_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValidationError, match="KEFU_DATA_KEY is required with PostgreSQL"):
        Settings(_env_file=None, database_url="postgresql+asyncpg://db/kefu")
    with pytest.raises(ValidationError, match="KEFU_DATA_KEY must be Fernet keys"):
        Settings(_env_file=None, data_key="too-short")


def test_the_embedded_default_makes_its_key_once_beside_the_database(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'k.db'}")
    [key] = keys_of(settings)
    path = tmp_path / "data.key"
    assert path.read_text().strip() == key
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys_of(settings) == [key]  # read back, never made again


def test_the_cli_makes_a_key_even_where_the_settings_refuse_to_start() -> None:
    env = {**os.environ, "KEFU_DATABASE_URL": "postgresql+asyncpg://db/kefu", "KEFU_DATA_KEY": ""}
    done = subprocess.run(
        [sys.executable, "-m", "service", "data-key"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    key = done.stdout.strip()
    assert Settings(_env_file=None, database_url=env["KEFU_DATABASE_URL"], data_key=key)

"""A PostgreSQL restart (every connection of the server cut) loses no message and no socket state.

The pool does not ping connections before use (service/db/engine.py); this is what stands in for
it: the first statement on a dead connection fails, the pool is emptied, and the writer replays
its batch on fresh connections.
"""

from __future__ import annotations

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select

from service.db.models import Message
from tests.support.databases import _dsn
from tests.support.server import Server


async def cut_every_connection(database_url: str) -> int:
    """What a server restart does to the app's pooled connections (from outside the app)."""
    connection = await asyncpg.connect(_dsn(database_url))
    try:
        cut = await connection.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await connection.close()
    return len(cut)


async def test_messages_after_a_database_restart_are_stored_and_acked(
    server: Server, database_url: str
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL server restart; SQLite is a file in this process")
    agent = await server.agent("小王", "1001")
    customer = await server.customer()
    await customer.until("assigned")
    await agent.until("assigned", chat_id=customer.chat_id)
    before = await customer.say("重启前")

    assert await cut_every_connection(database_url) >= 1
    replays = server.runtime.writer.stats.replays

    after = await customer.say("重启后")
    # The batch failed on a dead connection and was written again on a fresh one.
    assert server.runtime.writer.stats.replays == replays + 1
    assert after["seq"] == before["seq"] + 1
    got = await agent.until("message", sender="customer", seq=after["seq"])
    assert got["text"] == "重启后"
    reply = await agent.say(customer.chat_id, "收到")
    assert reply["seq"] == after["seq"] + 1
    rows = await server.rows(
        select(Message.text).where(Message.chat_id == customer.chat_id).order_by(Message.seq)
    )
    assert rows[-3:] == ["重启前", "重启后", "收到"]

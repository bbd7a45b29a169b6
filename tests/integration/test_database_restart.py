"""A PostgreSQL restart (every connection of the server cut) loses no message and no socket state.

The pool does not ping connections before use (service/db/engine.py); this is what stands in for
it: the first statement on a dead connection fails, the pool is emptied, and the writer replays
its batch on fresh connections.
"""

from __future__ import annotations

import asyncio

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from service.db.models import Agent, Message
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


async def _allow_connections(database_url: str, allow: bool) -> None:
    """Let the test's own database take connections or refuse them (and cut what it has)."""
    url = make_url(database_url)
    connection = await asyncpg.connect(_dsn(url.set(database="postgres").render_as_string(False)))
    try:
        flag = "true" if allow else "false"
        await connection.execute(f'ALTER DATABASE "{url.database}" ALLOW_CONNECTIONS {flag}')
        if not allow:
            await connection.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1",
                url.database,
            )
    finally:
        await connection.close()


async def test_while_the_database_is_away_frames_get_unavailable_and_nothing_is_lost(
    server: Server, database_url: str
) -> None:
    """The database refuses connections: a message gets a typed ``unavailable`` error (no ack,
    the socket stays open), its resend is stored once when the database is back, and a socket
    closed meanwhile is still counted out."""
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL outage; SQLite is a file in this process")
    leaving = await server.agent("小李", "1002", status="away")
    agent = await server.agent("小王", "1001")
    customer = await server.customer()
    await customer.until("assigned")
    await agent.until("assigned", chat_id=customer.chat_id)
    leaving_id = leaving.info["agent"]["id"]

    await _allow_connections(database_url, False)
    try:
        await customer.send({"type": "message", "client_id": "down-1", "text": "数据库不在"})
        error = await customer.until("error")
        assert error["code"] == "unavailable" and error["ref"] == "down-1", error
        await leaving.close()  # its departure is written once the database is back
        await asyncio.sleep(0.3)
    finally:
        await _allow_connections(database_url, True)

    ack = await customer.say("数据库不在", client_id="down-1")
    got = await agent.until("message", sender="customer", seq=ack["seq"])
    assert got["text"] == "数据库不在"
    stored = await server.rows(
        select(Message.id).where(Message.chat_id == customer.chat_id, Message.text == "数据库不在")
    )
    assert len(stored) == 1
    await server.armed(f"agent_gone:{leaving_id}")
    count = await server.rows(select(Agent.connections).where(Agent.id == leaving_id))
    assert count == [0]

"""The embedded default's commits: every unit waits for the disk (``synchronous=FULL``, an ack
survives a power loss) except a customer's hello, which acknowledges nothing the customer wrote
and is on the disk with the next durable commit (service/db/unit_of_work.py, docs/operations.md).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, text

from tests.support.server import Server

FULL, NORMAL = 2, 1


@pytest.fixture(autouse=True)
def sqlite_only(database_url: str) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL's commit waits for its disk in its own process")


async def level(server: Server, *, durable: bool = True) -> int:
    async with server.runtime.units.transaction(durable=durable) as work:
        found: int = (await work.session.execute(text("PRAGMA synchronous"))).scalar_one()
    return found


async def test_a_lazy_unit_commits_without_the_disk_and_the_next_unit_with_it(
    server: Server,
) -> None:
    assert await level(server) == FULL
    assert await level(server, durable=False) == NORMAL
    assert await level(server) == FULL

    # A lazy unit that fails half-way leaves nothing behind either.
    with pytest.raises(RuntimeError):
        async with server.runtime.units.transaction(durable=False):
            raise RuntimeError("the unit failed")
    assert await level(server) == FULL


async def test_a_hello_commits_lazily_and_the_first_message_durably(server: Server) -> None:
    levels: list[int] = []

    def committed(connection: Any) -> None:
        raw = connection.connection.driver_connection._connection
        levels.append(raw.execute("PRAGMA synchronous").fetchone()[0])

    engine = server.runtime.database.engine.sync_engine
    event.listen(engine, "commit", committed)
    try:
        customer = await server.customer()
        assert NORMAL in levels, levels  # the hello's own unit
        levels.clear()
        await customer.send({"type": "message", "client_id": "m1", "text": "我的账号登录不上"})
        await customer.until("ack")
        # Every commit since (the message's, and any timer's) waited for the disk: the chat
        # is there too, with the log the fsync covered.
        assert levels and set(levels) == {FULL}, levels
    finally:
        event.remove(engine, "commit", committed)

"""service/db/direct.py on both backends: chats read as plain rows become objects as the ORM's
load makes them, and their changes go back by one prebuilt UPDATE per set of changed columns,
not by the ORM's flush; what it does not write (new, not tracked) the ORM still does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, event, select, text

from service.db import direct
from service.db.engine import Database, create_database
from service.db.models import Chat, ChatStatus, Customer

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CHATS = direct.track(Chat).where(Chat.__table__.c.id.in_(bindparam("ids", expanding=True)))


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    database = create_database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def statements(database: Database) -> list[str]:
    seen: list[str] = []

    def before(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        seen.append(" ".join(statement.split()[:3]).upper())

    event.listen(database.engine.sync_engine, "before_cursor_execute", before)
    return seen


async def two_chats(database: Database) -> list[int]:
    async with database.sessions() as session, session.begin():
        customer = await direct.insert(session, Customer, name="玩家", created_at=NOW)
        ids = []
        for n in range(2):
            chat = await direct.insert(
                session,
                Chat,
                customer_id=customer.id,
                locale="zh-CN",
                resume_token_hash=f"h{n}",
                created_at=NOW,
            )
            ids.append(chat.id)
    return ids


async def test_loaded_rows_are_persistent_and_clean(database: Database) -> None:
    ids = await two_chats(database)
    async with database.sessions() as session, session.begin():
        chats = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        assert sorted(chat.id for chat in chats) == ids
        assert all(chat.status == ChatStatus.queued and chat.last_seq == 0 for chat in chats)
        assert not direct.changed(session) and not session.dirty
        # The identity map has them: a get answers without a statement.
        assert await session.get(Chat, ids[0]) is next(c for c in chats if c.id == ids[0])
        # Loaded again: the same objects, with the row's values (as populate_existing).
        await session.execute(text("UPDATE chats SET priority = 7"))
        again = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        assert {id(chat) for chat in again} == {id(chat) for chat in chats}
        assert all(chat.priority == 7 for chat in chats) and not direct.changed(session)


async def test_changes_go_back_in_one_update_per_set_of_columns(
    database: Database, statements: list[str]
) -> None:
    ids = await two_chats(database)
    async with database.sessions() as session, session.begin():
        chats = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        for chat in chats:
            chat.last_seq += 1
            chat.waiting_since = NOW
        statements.clear()
        await session.run_sync(direct.write_changes)
        assert statements == ["UPDATE CHATS SET"]  # both chats, one executemany
        assert not direct.changed(session)
        statements.clear()
        await session.flush()
        assert statements == []  # nothing left for the ORM
    async with database.sessions() as session:
        rows = (await session.execute(select(Chat.last_seq, Chat.waiting_since))).all()
    assert rows == [(1, NOW), (1, NOW)]


async def test_a_value_set_back_is_no_change(database: Database, statements: list[str]) -> None:
    ids = await two_chats(database)
    async with database.sessions() as session, session.begin():
        (chat, _) = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        chat.priority = 3
        chat.priority = 0
        statements.clear()
        await session.run_sync(direct.write_changes)
        await session.flush()
        assert statements == [] and not direct.changed(session)


async def test_a_statement_sees_the_changes_unless_autoflush_is_off(database: Database) -> None:
    ids = await two_chats(database)
    count = select(Chat.id).where(Chat.status == ChatStatus.assigned)
    async with database.sessions() as session, session.begin():
        (chat, _) = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        chat.status = ChatStatus.assigned
        with session.no_autoflush:  # the caller writes at the unit's end
            assert (await session.execute(count)).all() == []
        assert direct.changed(session)
        assert (await session.execute(count)).scalars().all() == [chat.id]
        assert not direct.changed(session)


async def test_what_it_does_not_write_the_orm_flush_does(
    database: Database, statements: list[str]
) -> None:
    ids = await two_chats(database)
    async with database.sessions() as session, session.begin():
        (chat, _) = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
        customer = await session.get_one(Customer, chat.customer_id)  # not tracked
        customer.name = "改名"
        chat.priority = 2
        statements.clear()
        await session.run_sync(direct.write_changes)
        assert statements == ["UPDATE CHATS SET"]
        assert direct.changed(session)  # the customer is still the ORM's to flush
        await session.flush()
        assert statements == ["UPDATE CHATS SET", "UPDATE CUSTOMERS SET"]
    async with database.sessions() as session:
        assert (await session.get_one(Customer, chat.customer_id)).name == "改名"
        assert (await session.get_one(Chat, chat.id)).priority == 2


async def test_a_rollback_writes_nothing(database: Database) -> None:
    ids = await two_chats(database)
    with pytest.raises(RuntimeError):
        async with database.sessions() as session, session.begin():
            (chat, _) = direct.load(session, Chat, await session.execute(CHATS, {"ids": ids}))
            chat.last_seq = 9
            await session.run_sync(direct.write_changes)
            raise RuntimeError("the unit failed")
    async with database.sessions() as session:
        assert (await session.scalars(select(Chat.last_seq))).all() == [0, 0]


async def test_new_rows_nothing_reads_back_go_in_one_executemany(
    database: Database, statements: list[str]
) -> None:
    async with database.sessions() as session, session.begin():
        guests = [Customer(device=f"d{n}", created_at=NOW) for n in range(3)]
        statements.clear()
        await session.run_sync(lambda sync: direct.insert_all(sync, guests))
        assert statements == ["INSERT INTO CUSTOMERS"]  # one executemany for the three
        assert not session.new and all(guest.id is None for guest in guests)  # still transient
    async with database.sessions() as session:
        stored = (await session.execute(select(Customer.device, Customer.sensitive))).all()
    # Every column has a value: the object's, else its default (``sensitive``: False).
    assert sorted(stored) == [("d0", False), ("d1", False), ("d2", False)]

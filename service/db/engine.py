"""The async engine and session factory, tuned per backend."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from service.db.inline_sqlite import inline_creator


@dataclass(frozen=True)
class Database:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def dispose(self) -> None:
        await self.engine.dispose()


def is_database_down(error: BaseException) -> bool:
    """Whether ``error`` says the database is unreachable (not that a statement was wrong)."""
    if isinstance(error, exc.DBAPIError):
        # No statement: it failed while connecting (refused, or not accepting connections).
        return (
            error.connection_invalidated
            or error.statement is None
            or isinstance(error, exc.OperationalError | exc.InterfaceError)
        )
    return isinstance(error, exc.TimeoutError | ConnectionError | OSError)


DURABLE = "FULL"
# WAL without waiting for the disk: the commit is in the log, and on the disk with the next
# FULL commit (whose fsync covers the whole log) or checkpoint; a power loss before that loses it.
LAZY = "NORMAL"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # FULL: a commit is on disk before it returns, so an ack survives a power loss (WAL with
    # NORMAL may lose the last commits). The group commit pays the fsync once per batch.
    cursor.execute(f"PRAGMA synchronous={DURABLE}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # No waiting inside SQLite: it would block the event loop (service/db/inline_sqlite.py
    # waits for a busy database itself).
    cursor.execute("PRAGMA busy_timeout=0")
    cursor.close()


def _sqlite_durable(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    # Every unit starts durable (FULL), whatever the last one on this connection asked for:
    # only a unit that says so commits without waiting for the disk (Units.transaction).
    dbapi_connection.driver_connection.set_synchronous(DURABLE)


def ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


CONNECT_TIMEOUT_S = 5.0


def create_database(url: str, *, echo: bool = False) -> Database:
    kwargs: dict[str, Any] = {"echo": echo}
    sqlite = make_url(url).get_backend_name() == "sqlite"
    if sqlite:
        ensure_sqlite_dir(url)
        # SQLite has one writer; one connection queues transactions in asyncio instead of
        # letting them collide on the file lock ("database is locked").
        kwargs.update(pool_size=1, max_overflow=0, pool_timeout=30)
        # Its statements run on the loop's thread (service/db/inline_sqlite.py explains why).
        kwargs.update(async_creator=inline_creator(url))
    else:
        # No ping before each checkout: on this kind of machine its three round trips were a
        # quarter of a lone message's cost. A connection that died with a server restart fails
        # its statement instead; SQLAlchemy then drops every pooled connection, the writer
        # replays the batch on fresh ones, and any other unit's socket closes (1011) and resumes.
        kwargs.update(pool_size=10, max_overflow=10, pool_pre_ping=False, pool_recycle=1800)
        # A connection attempt to a server that is restarting gives up after a few seconds
        # (asyncpg waits 60 s by default): the unit fails with `unavailable` and is retried by
        # its client, instead of holding the frame past every client's patience.
        kwargs.update(connect_args={"timeout": CONNECT_TIMEOUT_S})
    engine = create_async_engine(url, **kwargs)
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "checkout", _sqlite_durable)
    return Database(engine, async_sessionmaker(engine, expire_on_commit=False))

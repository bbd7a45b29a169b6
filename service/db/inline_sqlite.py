"""SQLite on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker thread and hands the
result back through the loop: a message unit of work made ~16 such hops, and each hop is two
thread wake-ups. On a small machine those wake-ups, not SQLite, were the cost of a message
(docs/benchmarks.md: ~3.5 ms of CPU per lone message, ~16 hops). SQLite itself answers our
statements in microseconds from a local file, so the embedded default runs them inline: the
same aiosqlite connection class, its calls made directly instead of queued to the thread.

Each call still lets the loop run what is ready first, as a hop to the thread did, so a long
run of database work (the scheduler firing a backlog of timers) cannot starve the sockets. The
price is that a slow statement holds up the loop while it runs. Everything kefu asks
SQLite is indexed and small, except the admin reports over long periods; a deployment whose
reports are slow runs on PostgreSQL, as any larger one should (docs/design.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url

BUSY_TIMEOUT_S = 5.0  # as long as the threaded driver's busy_timeout waited
# The calls that run SQL (and may find the database busy): each lets the loop run others first.
_STATEMENTS = frozenset({"execute", "executemany", "executescript", "commit"})


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run where they are awaited; no thread is started."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        # Let the loop run others first, as a real hop would: without it a loop of database
        # work (the scheduler firing a backlog of timers) never yields and the sockets starve.
        # Once per statement is enough; the calls around one (cursor, fetch, close) do not.
        if getattr(fn, "__name__", "") in _STATEMENTS:
            await asyncio.sleep(0)
        waited = 0.0
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as exc:
                # Another connection writes (a second app on the file, a tool): wait for it
                # here, in the loop, not in SQLite's busy handler, which would block the loop
                # and with it the very writer being waited for.
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or waited >= BUSY_TIMEOUT_S:
                    raise
            pause = min(0.05, 0.001 + waited / 10)
            await asyncio.sleep(pause)
            waited += pause

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def set_synchronous(self, level: str) -> bool:
        """``PRAGMA synchronous`` now, directly (microseconds; SQLite refuses it inside a
        transaction: False then, and nothing changed)."""
        connection = self._connection
        if connection is None or connection.in_transaction:
            return False
        connection.execute(f"PRAGMA synchronous={level}")
        return True

    def stop(self) -> None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def inline_creator(url: str) -> Callable[[], Any]:
    """``create_async_engine(..., async_creator=…)`` for an SQLite URL."""
    from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

    args, kwargs = SQLiteDialect_aiosqlite().create_connect_args(make_url(url))

    async def connect() -> InlineConnection:
        return await InlineConnection(partial(sqlite3.connect, *args, **kwargs), 64)

    return connect

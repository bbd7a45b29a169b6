"""SQLite on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) on a worker thread and hands the
result back through the loop: a message unit of work made ~16 such hops, and each hop is two
thread wake-ups. On a small machine those wake-ups, not SQLite, were the cost of a message
(docs/benchmarks.md: ~3.5 ms of CPU per lone message, ~16 hops). SQLite itself answers our
statements in microseconds from a local file, so the embedded default runs them inline: the
same aiosqlite connection class, its calls made directly instead of queued to the thread.

The price is that a slow statement holds up the loop while it runs. Everything kefu asks
SQLite is indexed and small, except the admin reports over long periods; a deployment whose
reports are slow runs on PostgreSQL, as any larger one should (docs/design.md).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite
from sqlalchemy.engine import make_url


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls run where they are awaited; no thread is started."""

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

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

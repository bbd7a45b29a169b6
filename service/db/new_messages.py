"""New messages, written by one prebuilt Core statement instead of the ORM's unit of work.

A stored message is the hot path's one insert, and the ORM's flush cost more per message than
the statement itself (bookkeeping, the identity map, per-object events). So a unit's new
messages (``service/chats/store.py::append``) are not added to the session: they wait in its
pending list and go to the database in one executemany when the unit writes what it has left
(``Units.flush``), or earlier, right before any statement of the same session on the messages
table (a unit that stores a message and then reads its chat's history sees it, as the ORM's
autoflush would have it). On PostgreSQL the insert returns the ids, in order; on SQLite they
were handed out beforehand (``RowIds``).

Rows that point at a new message (a reply's wait, a phrase hit) are given as builders
(``then``): they are added to the session once their message has its id, so the ORM flushes
them after it. The message objects stay transient: frames, hooks and webhooks read their
attributes as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, event, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

from service.db.direct import SEEN, insert_all
from service.db.models import Message, Reply

_PENDING = "kefu.messages.pending"

_TABLE = cast(Table, Message.__table__)
_KEYS = tuple(column.key for column in _TABLE.columns)
_KEYS_WITHOUT_ID = tuple(key for key in _KEYS if key != "id")
_INSERT = insert(_TABLE)
_INSERT_RETURNING = insert(_TABLE).returning(_TABLE.c.id, sort_by_parameter_order=True)


@dataclass(slots=True)
class _Pending:
    messages: list[Message] = field(default_factory=list)
    # Rows to add once the messages have their ids.
    rows: list[Callable[[], object]] = field(default_factory=list)


def _pending(session: AsyncSession | Session) -> _Pending:
    found = session.info.get(_PENDING)
    if found is None:
        found = session.info[_PENDING] = _Pending()
    return found


def add(session: AsyncSession, message: Message) -> None:
    """Store ``message`` with the unit's next write (or before the next statement on messages)."""
    _pending(session).messages.append(message)


def then(session: AsyncSession, row: Callable[[], object]) -> None:
    """Add the row ``row()`` builds once the pending messages have their ids (it shows one)."""
    pending = _pending(session)
    if pending.messages:
        pending.rows.append(row)
    else:
        session.add(row())


def mark(session: AsyncSession) -> tuple[int, int]:
    pending = _pending(session)
    return len(pending.messages), len(pending.rows)


def forget(session: AsyncSession, since: tuple[int, int]) -> None:
    """Drop what was added after ``mark`` gave ``since`` (its savepoint rolled back)."""
    pending = _pending(session)
    del pending.messages[since[0] :]
    del pending.rows[since[1] :]


async def write(session: AsyncSession) -> None:
    pending = session.info.get(_PENDING)
    if pending is not None and pending.messages:
        await session.run_sync(_write)


def _write(session: Session) -> None:
    pending: _Pending | None = session.info.get(_PENDING)
    if pending is None or not pending.messages:
        return
    messages, rows = pending.messages, pending.rows
    pending.messages, pending.rows = [], []
    if all(message.id is not None for message in messages):
        session.execute(_INSERT, [_row(message, _KEYS) for message in messages])
    else:
        ids = session.execute(
            _INSERT_RETURNING, [_row(message, _KEYS_WITHOUT_ID) for message in messages]
        )
        for message, (id_,) in zip(messages, ids, strict=True):
            message.id = id_
    seen = session.info.get(SEEN)
    if seen is not None:
        seen.extend(messages)
    built = [row() for row in rows]
    # A reply's wait (one per answering agent message) is read back by no one: written by Core.
    insert_all(session, [row for row in built if isinstance(row, Reply)])
    session.add_all([row for row in built if not isinstance(row, Reply)])


def _row(message: Message, keys: tuple[str, ...]) -> dict[str, Any]:
    values = message.__dict__
    row = {key: values.get(key) for key in keys}
    if row["internal"] is None:  # the column's default, which an explicit None would override
        row["internal"] = False
    return row


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    # Before a statement on the messages table (a read of a chat's history, a delete), the
    # unit's pending messages go in first, as the ORM's autoflush would have it. Handlers run
    # before the autoflush, so the rows that point at them are flushed with it.
    pending: _Pending | None = state.session.info.get(_PENDING)
    if pending is not None and pending.messages:
        if any(mapper.class_ is Message for mapper in state.all_mappers):
            _write(state.session)

"""A new row written by one prebuilt ``INSERT … RETURNING id``, its object in the session as if
it had been loaded.

The ORM's flush of one new object (its unit-of-work sort, the insert built from the object's
history, the identity map) costs more than the statement; a storm of new chats writes two new
rows per hello (the guest and the chat). Here every column gets a value (the caller's, else the
column's scalar default), the row is inserted by a statement built once per model, and the
object built from the same values is made persistent without a read: nothing on it is expired,
so nothing loads lazily, and nothing is dirty, so no UPDATE follows. Whoever watches a unit's
new rows (``new_messages.SEEN``: the webhook outbox) is told of it as of a flushed one.
"""

from __future__ import annotations

from typing import Any, TypeVar, cast

from sqlalchemy import Table, inspect
from sqlalchemy import insert as core_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, make_transient_to_detached

from service.db.new_messages import SEEN

T = TypeVar("T")

# Per model: (the statement, attribute -> column key, attribute -> default).
_BUILT: dict[type, tuple[Any, dict[str, str], dict[str, Any]]] = {}


def _built(model: type) -> tuple[Any, dict[str, str], dict[str, Any]]:
    found = _BUILT.get(model)
    if found is not None:
        return found
    mapper: Mapper[Any] = inspect(model)
    (key,) = mapper.primary_key
    columns: dict[str, str] = {}
    defaults: dict[str, Any] = {}
    for prop in mapper.column_attrs:
        (column,) = prop.columns
        if column.primary_key:
            continue
        default = column.default
        if default is None and column.server_default is not None:
            # Its value is the database's: the object would have to read it back.
            raise TypeError(f"{model.__name__}.{prop.key} has only a server default")
        if default is not None and not default.is_scalar:
            raise TypeError(f"{model.__name__}.{prop.key} has a default that is not a value")
        columns[prop.key] = column.key
        defaults[prop.key] = default.arg if default is not None else None
    table = cast(Table, mapper.local_table)
    found = (core_insert(table).returning(key), columns, defaults)
    _BUILT[model] = found
    return found


async def insert(session: AsyncSession, model: type[T], **values: Any) -> T:
    """The new row of ``model`` with ``values`` (every other column its default), persistent
    in ``session``."""
    statement, columns, defaults = _built(model)
    unknown = values.keys() - columns.keys()
    if unknown:
        raise TypeError(f"{model.__name__} has no column {sorted(unknown)}")
    row = {**defaults, **values}
    new_id = (
        await session.execute(statement, {columns[name]: value for name, value in row.items()})
    ).scalar_one()
    instance = model(id=new_id, **row)  # type: ignore[call-arg]
    make_transient_to_detached(instance)
    session.add(instance)
    seen = session.info.get(SEEN)
    if seen is not None:  # watched (the webhook outbox: chat.opened), as a flushed row is
        seen.append(instance)
    return instance

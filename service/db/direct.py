"""Rows read and written by prebuilt Core statements, their objects in the session as if the
ORM had loaded or flushed them.

The ORM's own load and flush of a row (instance processors, history, the unit-of-work sort, an
UPDATE compiled from each object's history) cost more than the statements on the hot path:
a customer's message loads its chat and writes it back, a hello inserts two rows. Here:

- ``insert``: a new row by one ``INSERT … RETURNING id`` built once per model; every column gets
  a value (the caller's, else the column's scalar default), and the object built from the same
  values is made persistent without a read: nothing on it is expired, so nothing loads lazily,
  and nothing is dirty, so no UPDATE follows. Whoever watches a unit's new rows
  (``SEEN``: the webhook outbox) is told of it as of a flushed one.
- ``insert_all``: new objects nothing reads back (a reply's wait), by one executemany per model
  (every column a value, as ``insert``); they stay transient.
- ``load``: rows a Core ``SELECT`` of a model's columns read, made persistent objects as the
  ORM's load would (one already in the session gets the row's values, as ``populate_existing``).
- ``write_changes``: the changed columns of a model's loaded objects, by one prebuilt
  ``UPDATE … WHERE id = :b_id`` per set of changed columns (an executemany for a batch's chats),
  and the objects marked clean, so the ORM's flush has nothing left to do for them. It runs
  before the unit's last flush and before any statement of the session (``do_orm_execute``, as
  the ORM's autoflush would): an object changed and then flushed by the ORM (an explicit
  ``session.flush()``) is written by the ORM instead, just as correctly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, TypeVar, cast

from sqlalchemy import Row, Select, Table, Update, bindparam, event, inspect, select, update
from sqlalchemy import insert as core_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapper, ORMExecuteState, Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

T = TypeVar("T")

# The rows a unit wrote, for whoever watches them (the webhook outbox sets this list up).
SEEN = "kefu.rows.seen"

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


def insert_all(session: Session, objects: list[Any]) -> None:
    """Write new ``objects`` by one executemany per model: every column the object's value,
    else the column's scalar default. They stay transient (nothing may read them back by id)."""
    groups: dict[type, list[dict[str, Any]]] = {}
    for instance in objects:
        _, columns, defaults = _built(type(instance))
        values = instance.__dict__
        groups.setdefault(type(instance), []).append(
            {
                column: values[name] if name in values else defaults[name]
                for name, column in columns.items()
            }
        )
    for model, rows in groups.items():
        plain = _PLAIN.get(model)
        if plain is None:  # the model's INSERT without RETURNING: an executemany reads nothing
            plain = _PLAIN[model] = core_insert(cast(Table, inspect(model).local_table))
        session.connection().execute(plain, rows)


_PLAIN: dict[type, Any] = {}


# -- rows loaded and written back ----------------------------------------------------------------


@dataclass(eq=False)
class _Plan:
    """How one tracked model's rows are read and written: its columns in table order."""

    model: type
    mapper: Mapper[Any]
    table: Table
    key: str  # the primary key's attribute
    attrs: tuple[str, ...]  # attribute per column, in the table's column order
    columns: dict[str, str]  # attribute -> column key
    updates: dict[tuple[str, ...], Update] = field(default_factory=dict)

    def update(self, attrs: tuple[str, ...]) -> Update:
        """``UPDATE … SET <attrs> WHERE id = :b_id``, built once per set of attributes."""
        found = self.updates.get(attrs)
        if found is None:
            id_column = self.table.c[self.columns[self.key]]
            found = self.updates[attrs] = (
                update(self.table)
                .where(id_column == bindparam("b_id"))
                .values({self.columns[attr]: bindparam(f"b_{attr}") for attr in attrs})
            )
        return found


_TRACKED: dict[type, _Plan] = {}


def track(model: type) -> Select[Any]:
    """Write ``model``'s changed loaded objects by Core (``write_changes``); returns the
    ``SELECT`` of its columns that ``load`` takes rows of (add a WHERE, a lock, more columns)."""
    plan = _TRACKED.get(model)
    if plan is None:
        mapper: Mapper[Any] = inspect(model)
        (key,) = mapper.primary_key
        table = cast(Table, mapper.local_table)
        by_column = {prop.columns[0].key: prop.key for prop in mapper.column_attrs}
        attrs = tuple(by_column[column.key] for column in table.columns)
        plan = _TRACKED[model] = _Plan(
            model,
            mapper,
            table,
            by_column[key.key],
            attrs,
            {attr: column for column, attr in by_column.items()},
        )
    return select(*plan.table.columns)


def load(session: AsyncSession, model: type[T], rows: Iterable[Row[Any]]) -> list[T]:
    """The objects of ``rows`` (each starting with ``model``'s columns, as ``track``'s select
    gives them), persistent in ``session`` as the ORM's load would make them."""
    plan = _TRACKED[model]
    sync = session.sync_session
    found: list[T] = []
    for row in rows:
        values = dict(zip(plan.attrs, row, strict=False))  # more columns may follow
        identity = plan.mapper.identity_key_from_primary_key([values[plan.key]])
        instance = sync.identity_map.get(identity)
        if instance is not None:  # loaded earlier in this transaction: the row is current
            for name, value in values.items():
                set_committed_value(instance, name, value)
        else:
            instance = plan.mapper.class_manager.new_instance()
            instance.__dict__.update(values)
            make_transient_to_detached(instance)
            sync.add(instance)
        found.append(instance)
    return found


def changed(session: AsyncSession | Session) -> bool:
    """Whether an object of the session has changes the next write would have to write."""
    sync = session.sync_session if isinstance(session, AsyncSession) else session
    return bool(sync.identity_map._modified)  # the ORM flush reads this set (private)


def write_changes(session: Session) -> None:
    """Write the changed columns of the tracked models' loaded objects, and mark them clean."""
    modified = session.identity_map._modified  # the ORM flush reads this set (private)
    if not modified:
        return
    groups: dict[tuple[_Plan, tuple[str, ...]], list[dict[str, Any]]] = {}
    written = []
    for state in list(modified):
        plan = _TRACKED.get(state.class_)
        if plan is None or state.key is None or state.deleted or state.expired_attributes:
            continue  # new, deleted, partly expired or not ours: the ORM's flush writes it
        values, before = state.dict, state.committed_state
        if not before.keys() <= plan.columns.keys():
            continue
        attrs = tuple(sorted(name for name, old in before.items() if values.get(name) != old))
        if attrs:
            params = {f"b_{name}": values[name] for name in attrs}
            params["b_id"] = values[plan.key]
            groups.setdefault((plan, attrs), []).append(params)
        written.append(state)
    if groups:
        connection = session.connection()
        for (plan, attrs), params in groups.items():
            # In key order, as the ORM's flush: two transactions that change the same rows
            # take their locks in one order and never deadlock on them.
            params.sort(key=itemgetter("b_id"))
            connection.execute(plan.update(attrs), params)
    for state in written:
        state._commit_all(state.dict, session.identity_map)  # as the ORM flush does (private)


@event.listens_for(Session, "do_orm_execute")
def _before_statement(state: ORMExecuteState) -> None:
    # Before any statement of the session, the tracked objects' changes are written, as the
    # ORM's autoflush would (handlers run before it, so it finds them clean); not where the
    # caller turned autoflush off to write everything at the unit's end.
    session = state.session
    if session.autoflush and session.identity_map._modified:
        write_changes(session)

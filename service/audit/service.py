"""Writing and reading the audit log."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import AdminToken, AuditEntry, Base
from service.tokens.service import Caller

# Never copied into the log: a hash is still a credential to guard.
SECRET = frozenset({"token_hash", "resume_token_hash"})
State = dict[str, Any] | None


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(key): _json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json(item) for item in value]
    return value


def snapshot(row: Base | None, only: Iterable[str] | None = None) -> State:
    """The row's column values as JSON (secrets left out), or None for no row."""
    if row is None:
        return None
    names = [attr.key for attr in inspect(row).mapper.column_attrs if attr.key not in SECRET]
    if only is not None:
        wanted = set(only)
        names = [name for name in names if name in wanted]
    return {name: _json(getattr(row, name)) for name in names}


def token_state(row: AdminToken) -> State:
    return snapshot(row)


def changed(before: State, after: State) -> tuple[State, State]:
    """Only the fields that differ (both sides), so a row reads as what the change did."""
    if before is None or after is None:
        return before, after
    keys = [key for key in after if before.get(key) != after.get(key)]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def _target(target: Base | tuple[str, object]) -> tuple[str, str]:
    if isinstance(target, tuple):
        kind, ident = target
        return kind, str(ident)
    mapper = inspect(target).mapper
    kind = mapper.local_table.name  # type: ignore[attr-defined]
    ident = "/".join(str(part) for part in mapper.primary_key_from_instance(target))
    return TARGET_NAMES.get(kind, kind), ident


# Targets are named as the API names them (one name per concept).
TARGET_NAMES = {
    "agents": "agent",
    "groups": "group",
    "customers": "customer",
    "template_overrides": "template",
    "admin_tokens": "token",
    "complaints": "complaint",
    "callbacks": "callback",
    "promises": "promise",
    "chats": "chat",
    "incidents": "incident",
}


async def record(
    session: AsyncSession,
    caller: Caller,
    at: datetime,
    action: str,
    target: Base | tuple[str, object],
    before: State,
    after: State,
) -> AuditEntry | None:
    """Add the row for one change to the change's own session (it commits with it).

    A change that changed nothing (the same values sent again) leaves no row.
    """
    if before is not None and before == after:
        return None
    before, after = changed(before, after)
    kind, ident = _target(target)
    entry = AuditEntry(
        at=at,
        actor=caller.name,
        actor_role=caller.role,
        actor_token_id=caller.token_id,
        actor_agent_id=caller.agent_id,
        action=action,
        target_type=kind,
        target_id=ident,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


@dataclass(frozen=True, slots=True)
class AuditFilters:
    actor: str | None = None
    actor_role: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _query(filters: AuditFilters) -> Select[AuditEntry]:
    query = select(AuditEntry)
    if filters.actor is not None:
        query = query.where(AuditEntry.actor == filters.actor)
    if filters.actor_role is not None:
        query = query.where(AuditEntry.actor_role == filters.actor_role)
    if filters.action is not None:
        # "agent" finds every agent action, "agent.update" just the one.
        action = filters.action
        query = query.where(
            (AuditEntry.action == action)
            | AuditEntry.action.startswith(action + ".", autoescape=True)
        )
    if filters.target_type is not None:
        query = query.where(AuditEntry.target_type == filters.target_type)
    if filters.target_id is not None:
        query = query.where(AuditEntry.target_id == filters.target_id)
    if filters.since is not None:
        query = query.where(AuditEntry.at >= filters.since)
    if filters.until is not None:
        query = query.where(AuditEntry.at < filters.until)
    return query


async def page(
    session: AsyncSession, filters: AuditFilters, limit: int, offset: int
) -> tuple[list[AuditEntry], int]:
    query = _query(filters)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)
    )
    return list(rows.all()), total or 0

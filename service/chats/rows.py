"""The one place a chat row's fields change.

service/chats/machine.py decides every change to a chat as a ``Set`` effect; this writes it on
the loaded row, which the unit of work flushes. Nothing else assigns a chat's fields
(tests/unit/test_rows.py reads the source to keep it so), so what can change a field, and when,
is answered by the machine alone.

S-first-responder: a change of the chat's owner is recorded here too, as an ``owner_events``
row added to the row's session (so it commits with the change or not at all); ``why`` is the
reason the caller knows (service/owners/rules.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import object_session

from service.chats.machine import Effect, Set
from service.db.models import Chat
from service.owners.models import OwnerEvent
from service.owners.rules import change_of


def set_fields(chat: Chat, fields: Mapping[str, Any], why: str | None = None) -> None:
    change = change_of(chat.agent_id, chat.status, fields, why)
    if change is not None:
        session = object_session(chat)
        if session is None:
            raise RuntimeError(f"chat {chat.id} changes owner outside a unit of work")
        session.add(
            OwnerEvent(
                chat_id=chat.id,
                at=change.at,
                from_agent_id=change.from_agent_id,
                to_agent_id=change.to_agent_id,
                why=change.why,
            )
        )
    for name, value in fields.items():
        setattr(chat, name, value)


def write(chat: Chat, effects: Iterable[Effect], why: str | None = None) -> None:
    """Apply effects that only set fields (routing's: assign, requeue, join the line)."""
    for effect in effects:
        if not isinstance(effect, Set):
            raise TypeError(f"{effect!r} is not a field change; apply it in the unit of work")
        set_fields(chat, effect.fields, why)

"""The one place a chat row's fields change.

service/chats/machine.py decides every change to a chat as a ``Set`` effect; this writes it on
the loaded row, which the unit of work flushes. Nothing else assigns a chat's fields
(tests/unit/test_rows.py reads the source to keep it so), so what can change a field, and when,
is answered by the machine alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from service.chats.machine import Effect, Set
from service.db.models import Chat


def set_fields(chat: Chat, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        setattr(chat, name, value)


def write(chat: Chat, effects: Iterable[Effect]) -> None:
    """Apply effects that only set fields (routing's: assign, requeue, join the line)."""
    for effect in effects:
        if not isinstance(effect, Set):
            raise TypeError(f"{effect!r} is not a field change; apply it in the unit of work")
        set_fields(chat, effect.fields)

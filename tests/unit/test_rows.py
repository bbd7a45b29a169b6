"""Every field of a chat row is written in one place (service/chats/rows.py), as the machine
decides: no other module assigns ``chat.<field>``, so what changes a field is answered by
service/chats/machine.py alone.

One exception, by design: ``last_seq`` is the message log's counter, not a decision of the
chat's life; service/chats/store.py hands out seqs as it appends (and the socket counts are
changed in SQL by service/chats/presence.py, never on a loaded row).
"""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.chats import machine
from service.chats.rows import write
from service.db.models import Chat

SERVICE = Path(__file__).resolve().parents[2] / "service"
ONE_PLACE = SERVICE / "chats" / "rows.py"
COLUMNS = set(Chat.__table__.columns.keys())
THE_LOGS_COUNTER = ("service/chats/store.py", "last_seq")


def writes_of_chat_fields(source: str) -> list[tuple[int, str]]:
    """``<x>.<column> = …`` where ``<x>`` is named like a chat and the column is a chat's."""
    found = []
    for node in ast.walk(ast.parse(source)):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, ast.Attribute)
                and target.attr in COLUMNS
                and isinstance(target.value, ast.Name)
                and "chat" in target.value.id
            ):
                found.append((node.lineno, target.attr))
    return found


def test_no_module_but_rows_assigns_a_chat_field() -> None:
    writes = []
    for path in sorted(SERVICE.rglob("*.py")):
        name = str(path.relative_to(SERVICE.parent))
        for line, column in writes_of_chat_fields(path.read_text(encoding="utf-8")):
            if path != ONE_PLACE and (name, column) != THE_LOGS_COUNTER:
                writes.append(f"{name}:{line} {column}")
    assert writes == []


def test_the_check_sees_a_write() -> None:
    source = "chat.status = 'closed'\nchat.priority += 1\nagent.status = 'away'\n"
    assert writes_of_chat_fields(source) == [(1, "status"), (2, "priority")]


def test_an_owner_change_outside_a_unit_of_work_is_refused() -> None:
    """S-first-responder: the owner event goes into the row's session, with the change."""
    chat = Chat(id=1, status="queued", agent_id=None)
    with pytest.raises(RuntimeError, match="outside a unit of work"):
        write(chat, machine.assign_to(7, datetime(2026, 1, 5, 9, tzinfo=UTC)))
    assert chat.agent_id is None  # nothing was changed either

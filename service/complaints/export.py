"""The CSV export of the notification table: one line per complaint, UTF-8 with a BOM.

The BOM makes spreadsheet programs read the Chinese text right. Cells that a spreadsheet would
run as a formula (starting with = + - @ or a control character) get a leading apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from service.complaints.schemas import ComplaintOut

COLUMNS = (
    "id",
    "created_at",
    "opened_at",
    "status",
    "class",
    "reasons",
    "topic",
    "source",
    "summary",
    "facts",
    "chat_id",
    "customer_id",
    "player_id",
    "customer_name",
    "tier",
    "sensitive",
    "agent_id",
    "owner_id",
    "batch_id",
    "answer_due_at",
    "due_at",
    "overdue",
    "resolved_at",
    "follow_up_result",
    "followed_up_at",
    "closed_at",
)
BOM = "\ufeff"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    text = value if isinstance(value, str) else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def row(card: ComplaintOut) -> list[str]:
    values: dict[str, Any] = {
        **card.model_dump(by_alias=True),
        "reasons": ";".join(card.reasons),
        "facts": json.dumps(card.facts, ensure_ascii=False, sort_keys=True) if card.facts else "",
        "customer_id": card.customer.id,
        "player_id": card.customer.player_id,
        "customer_name": card.customer.name,
        "tier": card.customer.tier,
        "sensitive": card.customer.sensitive,
    }
    return [cell(values[name]) for name in COLUMNS]


def lines(cards: Iterable[ComplaintOut], *, header: bool) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    if header:
        buffer.write(BOM)
        writer.writerow(COLUMNS)
    for card in cards:
        writer.writerow(row(card))
    return buffer.getvalue()

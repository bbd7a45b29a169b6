"""The attachments' rows as the chat service sees them: claimed by the message that sends them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from service.db.models import Attachment, Sender
from service.db.unit_of_work import Work
from service.errors import UnknownAttachment

_CARD = (
    Attachment.id,
    Attachment.content_type,
    Attachment.name,
    Attachment.size,
    Attachment.width,
    Attachment.height,
)


def card(row: Any) -> dict[str, Any]:
    """An attachment as a message frame shows it (no link: links are signed per viewer)."""
    shown: dict[str, Any] = {
        "id": row.id,
        "content_type": row.content_type,
        "name": row.name,
        "size": row.size,
    }
    if row.width is not None:
        shown["width"], shown["height"] = row.width, row.height
    return shown


async def claim(
    work: Work,
    chat_id: int,
    seq: int,
    ids: Sequence[int],
    agent_id: int | None,
) -> list[dict[str, Any]]:
    """Give the sender's (the customer's, or agent ``agent_id``'s) unsent uploads in this chat
    to the message ``seq``; their cards.

    One statement. Any id that is not such an upload (another chat's, the other side's, sent
    already, unknown) fails the whole message: nothing is stored.
    """
    mine = Attachment.agent_id == agent_id if agent_id else Attachment.agent_id.is_(None)
    statement = (
        update(Attachment)
        .where(
            Attachment.id.in_(list(ids)),
            Attachment.chat_id == chat_id,
            Attachment.seq.is_(None),
            Attachment.uploader == (Sender.agent if agent_id is not None else Sender.customer),
            mine,
        )
        .values(seq=seq)
        .returning(*_CARD)
        .execution_options(synchronize_session=False)
    )
    # The unit's new rows stay pending: they go to the database together at its end.
    with work.session.no_autoflush:
        rows = {row.id: row for row in await work.session.execute(statement)}
    missing = [i for i in ids if i not in rows]
    if missing:
        raise UnknownAttachment(
            f"attachment {missing[0]} is not an unsent upload of yours in this chat"
        )
    return [card(rows[i]) for i in ids]

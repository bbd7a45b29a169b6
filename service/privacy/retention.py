"""Retention (docs/privacy.md): what is purged once closed chats are older than the limit.

A closed chat beyond retention goes with its messages, attachments (rows and files), reply
timings, phrase hits, rating, promises and its message left for a callback; a customer left
with nothing goes too. Kept, as S-record asks of the notification table: a chat with a
complaint (other than a dismissed draft) keeps its row and the complaint its facts, but the
transcript is anonymised (personal information masked, attachments removed). A chat whose
complaint is still being worked, or whose callback is still open, is not touched at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service.complaints.models import Complaint, ComplaintEvent, ComplaintReason, Rating
from service.complaints.workflow import Status
from service.db.models import (
    Attachment,
    Callback,
    CallbackStatus,
    Chat,
    ChatStatus,
    Customer,
    Message,
    PhraseHit,
    Reply,
    TimingEvent,
)
from service.privacy.detect import mask
from service.promises.models import Promise

BATCH = 500
# A complaint in these states is finished: its chat may be anonymised.
FINISHED = (Status.closed, Status.followed_up, Status.dismissed)
_AGE = re.compile(r"^\s*(\d{1,6})\s*([dh])\s*$")


class BadAge(ValueError):
    """An ``--older-than`` that is not ``<n>d`` or ``<n>h``."""


def parse_age(text: str) -> timedelta:
    """``180d`` or ``36h`` as a timedelta; anything else (zero included) is refused."""
    match = _AGE.match(text)
    if match is None or int(match.group(1)) == 0:
        raise BadAge(f"not an age like 180d or 36h: {text!r}")
    amount = int(match.group(1))
    return timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)


@dataclass
class Purged:
    """What one purge did; ``files`` are the storage keys to remove once it has committed."""

    cutoff: datetime
    chats: int = 0
    messages: int = 0
    attachments: int = 0
    customers: int = 0
    anonymised_chats: int = 0
    anonymised_messages: int = 0
    files: list[str] = field(default_factory=list)

    @property
    def touched(self) -> bool:
        return bool(self.chats or self.customers or self.attachments or self.anonymised_chats)

    def summary(self) -> dict[str, Any]:
        done = asdict(self)
        done.pop("files")
        done["cutoff"] = self.cutoff.isoformat()
        return done


def _old_chats(cutoff: datetime) -> Select[Any]:
    busy_complaint = exists().where(
        Complaint.chat_id == Chat.id, Complaint.status.not_in(list(FINISHED))
    )
    open_callback = exists().where(
        Callback.chat_id == Chat.id, Callback.status == CallbackStatus.open
    )
    return (
        select(Chat.id)
        .where(Chat.status == ChatStatus.closed, Chat.closed_at < cutoff)
        .where(~busy_complaint, ~open_callback)
        .order_by(Chat.id)
    )


async def purge(session: AsyncSession, now: datetime, older_than: timedelta) -> Purged:
    """Purge (or anonymise) every closed chat that closed before ``now - older_than``."""
    done = Purged(cutoff=now - older_than)
    ids = list(await session.scalars(_old_chats(done.cutoff)))
    kept = (
        set(
            await session.scalars(
                select(Complaint.chat_id).where(
                    Complaint.chat_id.in_(ids), Complaint.status != Status.dismissed
                )
            )
        )
        if ids
        else set()
    )
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        await remove_attachments(session, batch, done)
        await _anonymise(session, [i for i in batch if i in kept], done)
        await delete_chats(session, [i for i in batch if i not in kept], done)
    return done


async def remove_attachments(session: AsyncSession, chat_ids: Sequence[int], done: Purged) -> None:
    keys = list(
        await session.scalars(
            select(Attachment.storage_key).where(Attachment.chat_id.in_(chat_ids))
        )
    )
    done.files += keys
    done.attachments += len(keys)
    await session.execute(delete(Attachment).where(Attachment.chat_id.in_(chat_ids)))


async def _anonymise(session: AsyncSession, chat_ids: Sequence[int], done: Purged) -> None:
    if not chat_ids:
        return
    rows = await session.execute(
        select(Message.id, Message.text, Message.attachments).where(Message.chat_id.in_(chat_ids))
    )
    changed = 0
    for ident, text, attachments in rows.all():
        hidden = mask(text)
        if hidden != text or attachments:
            changed += 1
            await session.execute(
                update(Message).where(Message.id == ident).values(text=hidden, attachments=None)
            )
    if changed:
        done.anonymised_chats += len(chat_ids)
        done.anonymised_messages += changed


async def delete_chats(session: AsyncSession, chat_ids: Sequence[int], done: Purged) -> None:
    if not chat_ids:
        return
    customers = set(await session.scalars(select(Chat.customer_id).where(Chat.id.in_(chat_ids))))
    drafts = select(Complaint.id).where(Complaint.chat_id.in_(chat_ids))
    for model in (ComplaintReason, ComplaintEvent):
        await session.execute(delete(model).where(model.complaint_id.in_(drafts)))
    await session.execute(delete(Promise).where(Promise.chat_id.in_(chat_ids)))
    await session.execute(delete(Complaint).where(Complaint.chat_id.in_(chat_ids)))
    for table in (PhraseHit, Reply, TimingEvent, Rating, Callback):
        await session.execute(delete(table).where(table.chat_id.in_(chat_ids)))
    result = await session.execute(delete(Message).where(Message.chat_id.in_(chat_ids)))
    done.messages += result.rowcount  # type: ignore[attr-defined]
    await session.execute(delete(Chat).where(Chat.id.in_(chat_ids)))
    done.chats += len(chat_ids)
    done.customers += await _delete_customers(session, customers)


async def _delete_customers(session: AsyncSession, ids: set[int]) -> int:
    """The customers among ``ids`` with nothing left: no chat, complaint, rating, promise."""
    if not ids:
        return 0
    left = or_(
        *(
            exists().where(model.customer_id == Customer.id)
            for model in (Chat, Complaint, Callback, Rating, Promise)
        )
    )
    gone = list(await session.scalars(select(Customer.id).where(Customer.id.in_(ids), ~left)))
    if gone:
        await session.execute(delete(Customer).where(Customer.id.in_(gone)))
    return len(gone)

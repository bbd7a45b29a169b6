"""A customer's data on request (docs/privacy.md): all of it as JSON, or erased.

Erasure deletes the customer's chats, messages, files, ratings, callbacks and promises. A
complaint record stays (S-record: the notification table is filed), with its text masked,
its chat row without a transcript, and its customer row emptied of who they were.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.chats.store import frames_after
from service.complaints.models import Complaint, ComplaintEvent, Rating
from service.complaints.workflow import Status
from service.db.models import Callback, Chat, ChatStatus, Customer, Message, PhraseHit, Reply
from service.errors import InvalidState, NotFound
from service.privacy.contacts import Sealer
from service.privacy.detect import mask
from service.privacy.masking import masked
from service.privacy.retention import Purged, delete_chats, remove_attachments
from service.promises.models import Promise


async def _customer(session: AsyncSession, customer_id: int) -> Customer:
    customer = await session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"no customer {customer_id}")
    return customer


async def export(session: AsyncSession, customer_id: int, sealer: Sealer) -> dict[str, Any]:
    """Everything kept about one customer: their row, chats with what was said to and by them
    (internal notes are the desk's, not theirs), complaints, ratings, callbacks, promises."""
    customer = await _customer(session, customer_id)
    chats = list(await session.scalars(select(Chat).where(Chat.customer_id == customer_id)))
    out: dict[str, Any] = {"customer": audit.snapshot(customer), "chats": []}
    for chat in sorted(chats, key=lambda row: row.id):
        messages = await frames_after(session, chat.id, 0, internal=False)
        out["chats"].append({**(audit.snapshot(chat) or {}), "messages": messages})
    for name, model in (
        ("complaints", Complaint),
        ("ratings", Rating),
        ("callbacks", Callback),
        ("promises", Promise),
    ):
        rows = await session.scalars(
            select(model).where(model.customer_id == customer_id).order_by(model.id)
        )
        out[name] = [audit.snapshot(row) for row in rows]
    for callback in out["callbacks"]:
        callback["contact"] = sealer.open(callback["contact"])  # theirs, so in clear
    return out


async def erase(session: AsyncSession, customer_id: int) -> Purged:
    customer = await _customer(session, customer_id)
    chats = list(
        await session.execute(select(Chat.id, Chat.status).where(Chat.customer_id == customer_id))
    )
    if any(status != ChatStatus.closed for _, status in chats):
        raise InvalidState(f"customer {customer_id} has an open chat: close it first")
    ids = [ident for ident, _ in chats]
    kept = set(
        await session.scalars(
            select(Complaint.chat_id).where(
                Complaint.customer_id == customer_id, Complaint.status != Status.dismissed
            )
        )
    )
    done = Purged(cutoff=customer.created_at)
    if ids:
        await remove_attachments(session, ids, done)
    records = [ident for ident in ids if ident in kept]
    if records:
        for table in (PhraseHit, Reply, Rating, Callback, Promise):
            await session.execute(delete(table).where(table.chat_id.in_(records)))
        result = await session.execute(delete(Message).where(Message.chat_id.in_(records)))
        done.messages += result.rowcount  # type: ignore[attr-defined]
        done.anonymised_chats += len(records)
        await _mask_complaints(session, customer_id)
    await delete_chats(session, [ident for ident in ids if ident not in kept], done)
    if await session.get(Customer, customer_id) is not None:
        await session.execute(
            update(Customer)
            .where(Customer.id == customer_id)
            .values(player_id=None, name=None, tier=None, device=None, address=None)
        )
    return done


async def _mask_complaints(session: AsyncSession, customer_id: int) -> None:
    rows = await session.scalars(select(Complaint).where(Complaint.customer_id == customer_id))
    for complaint in rows:
        complaint.summary = mask(complaint.summary)
        complaint.facts = masked(complaint.facts)
        events = await session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint.id)
        )
        for event in events:
            if event.comment:
                event.comment = mask(event.comment)

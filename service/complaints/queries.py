"""Reading the notification table: cards, filters, whitelisted sorting, pages and details."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, and_, exists, func, not_, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats.frames import message_frame
from service.complaints.models import Complaint, ComplaintEvent, ComplaintReason, Rating
from service.complaints.schemas import (
    ComplaintDetail,
    ComplaintOut,
    EventOut,
    RatingOut,
    SortKey,
)
from service.customers.service import card
from service.db.models import Agent, Customer, Message
from service.errors import NotFound
from service.owners.service import complaint_owners, named

# Sorting only by these keys; "-key" sorts descending. Ties break on id.
SORT_COLUMNS: dict[str, Any] = {
    "id": Complaint.id,
    "created_at": Complaint.created_at,
    "opened_at": Complaint.opened_at,
    "due_at": Complaint.due_at,
    "updated_at": Complaint.updated_at,
    "status": Complaint.status,
    "topic": Complaint.topic,
    "urgent": Complaint.urgent,
}
SORT_KEYS = tuple(key for name in SORT_COLUMNS for key in (name, f"-{name}"))
assert set(SortKey.__args__) == set(SORT_KEYS)  # type: ignore[attr-defined]

# The transcript excerpt: messages up to the moment of recording, and a few after it.
EXCERPT_BEFORE = 15
EXCERPT_AFTER = 5


def complaint_out(
    complaint: Complaint, customer: Customer, reasons: Sequence[str], now: datetime
) -> ComplaintOut:
    return ComplaintOut.model_validate(
        {
            **{
                name: getattr(complaint, name)
                for name in ComplaintOut.model_fields
                if name not in {"customer", "class_", "reasons", "overdue"}
            },
            "customer": card(customer),
            "class": "urgent" if complaint.urgent else "ordinary",
            "reasons": sorted(reasons),
            "overdue": complaint.due_at is not None and complaint.due_at <= now,
        }
    )


async def reasons_of(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[str]]:
    found: defaultdict[int, list[str]] = defaultdict(list)
    if ids:
        rows = await session.execute(
            select(ComplaintReason.complaint_id, ComplaintReason.reason).where(
                ComplaintReason.complaint_id.in_(ids)
            )
        )
        for complaint_id, reason in rows:
            found[complaint_id].append(reason)
    return found


async def load_card(session: AsyncSession, complaint: Complaint, now: datetime) -> ComplaintOut:
    customer = await session.get_one(Customer, complaint.customer_id)
    reasons = await reasons_of(session, [complaint.id])
    return complaint_out(complaint, customer, reasons[complaint.id], now)


@dataclass(frozen=True)
class Filters:
    status: Sequence[str] = ()
    class_: Literal["ordinary", "urgent"] | None = None
    reason: Sequence[str] = ()
    topic: Sequence[str] = ()
    source: Sequence[str] = ()
    owner: int | Literal["none"] | None = None
    overdue: bool | None = None
    since: datetime | None = None
    until: datetime | None = None
    customer_id: int | None = None
    player_id: str | None = None
    agent_id: int | None = None
    chat_id: int | None = None


def conditions(filters: Filters, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.status:
        where.append(Complaint.status.in_(filters.status))
    if filters.class_ is not None:
        where.append(Complaint.urgent.is_(filters.class_ == "urgent"))
    for reason in filters.reason:
        where.append(
            exists().where(
                ComplaintReason.complaint_id == Complaint.id, ComplaintReason.reason == reason
            )
        )
    if filters.topic:
        where.append(Complaint.topic.in_(filters.topic))
    if filters.source:
        where.append(Complaint.source.in_(filters.source))
    if filters.owner == "none":
        where.append(Complaint.owner_id.is_(None))
    elif filters.owner is not None:
        where.append(Complaint.owner_id == filters.owner)
    is_overdue = and_(Complaint.due_at.is_not(None), Complaint.due_at <= now)
    if filters.overdue is True:
        where.append(is_overdue)
    elif filters.overdue is False:
        where.append(not_(is_overdue))
    if filters.since is not None:
        where.append(Complaint.created_at >= filters.since)
    if filters.until is not None:
        where.append(Complaint.created_at < filters.until)
    if filters.customer_id is not None:
        where.append(Complaint.customer_id == filters.customer_id)
    if filters.player_id is not None:
        where.append(Customer.player_id == filters.player_id)
    if filters.agent_id is not None:
        where.append(Complaint.agent_id == filters.agent_id)
    if filters.chat_id is not None:
        where.append(Complaint.chat_id == filters.chat_id)
    return where


def listing(filters: Filters, now: datetime) -> Select[Complaint, Customer]:
    return (
        select(Complaint, Customer)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(*conditions(filters, now))
    )


def ordered(query: Select[Complaint, Customer], sort: str) -> Select[Complaint, Customer]:
    descending = sort.startswith("-")
    column = SORT_COLUMNS[sort.lstrip("-")]
    # Rows without a value (no deadline, not opened yet) come last either way, on both backends.
    order = [column.is_(None), column.desc() if descending else column.asc()]
    if column is not Complaint.id:
        order.append(Complaint.id.desc() if descending else Complaint.id.asc())
    return query.order_by(*order)


async def cards(
    session: AsyncSession, rows: Sequence[tuple[Complaint, Customer]], now: datetime
) -> list[ComplaintOut]:
    reasons = await reasons_of(session, [complaint.id for complaint, _ in rows])
    return [complaint_out(c, customer, reasons[c.id], now) for c, customer in rows]


async def page(
    session: AsyncSession, filters: Filters, sort: str, limit: int, offset: int, now: datetime
) -> tuple[list[ComplaintOut], int]:
    query = listing(filters, now)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = (await session.execute(ordered(query, sort).limit(limit).offset(offset))).all()
    return await cards(session, [(c, u) for c, u in rows], now), total or 0


async def stream(
    session: AsyncSession, filters: Filters, sort: str, now: datetime, chunk: int = 500
) -> AsyncIterator[list[ComplaintOut]]:
    """Every matching row, in pages, for the CSV export."""
    query = ordered(listing(filters, now), sort)
    offset = 0
    while True:
        rows = (await session.execute(query.limit(chunk).offset(offset))).all()
        if not rows:
            return
        yield await cards(session, [(c, u) for c, u in rows], now)
        offset += chunk


async def detail(session: AsyncSession, complaint_id: int, now: datetime) -> ComplaintDetail:
    row = (
        await session.execute(listing(Filters(), now).where(Complaint.id == complaint_id))
    ).first()
    if row is None:
        raise NotFound(f"no complaint {complaint_id}")
    complaint, customer = row
    card = (await cards(session, [(complaint, customer)], now))[0]
    events = (
        await session.scalars(
            select(ComplaintEvent)
            .where(ComplaintEvent.complaint_id == complaint_id)
            .order_by(ComplaintEvent.id)
        )
    ).all()
    history = [
        EventOut(
            at=e.at,
            actor=e.actor,
            action=e.action,
            from_=e.from_value,
            to=e.to_value,
            comment=e.comment,
        )
        for e in events
    ]
    transcript = await excerpt(session, complaint.chat_id, complaint.message_seq)
    rating = await session.scalar(select(Rating).where(Rating.chat_id == complaint.chat_id))
    return ComplaintDetail.model_validate(
        {
            **card.model_dump(by_alias=True),
            "history": history,
            "owners": await named(session, complaint_owners(complaint, events)),
            "transcript": transcript,
            "rating": RatingOut.model_validate(rating) if rating is not None else None,
        }
    )


async def excerpt(session: AsyncSession, chat_id: int, around: int) -> list[dict[str, Any]]:
    """The chat's messages up to ``around`` (the last before recording) and a few after it."""
    rows = await session.execute(
        select(Message, Agent)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(
            Message.chat_id == chat_id,
            Message.seq > around - EXCERPT_BEFORE,
            Message.seq <= around + EXCERPT_AFTER,
        )
        .order_by(Message.seq)
    )
    return [message_frame(message, agent) for message, agent in rows]

"""S-classes: which reasons make a complaint urgent.

The complaint keywords that open a draft are matched by the one matcher of every list
(``Catalog.guard().spot(text, "complaint")``, service/templates/matching.py): the same folding
as the taboo phrases (width, case, traditional characters, separators), Latin keywords start a
word, and one that ends with a digit must end the number: "315" (the consumer-rights hotline)
matches "打315投诉" but not order number "2026031512345" or "3150元".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, text

from service.complaints.models import Complaint, ComplaintBatch
from service.complaints.people import People, Reporter, count_people
from service.complaints.workflow import RECORDED, Source, Status
from service.customers.service import is_vip
from service.db.models import Customer
from service.db.unit_of_work import Work
from service.settings import Settings


async def lock_topic(work: Work, topic: str) -> None:
    """Serialise batch detection per topic across processes (SQLite has one writer anyway)."""
    if work.is_postgres:
        digest = hashlib.sha256(f"kefu.complaint.topic:{topic}".encode()).digest()
        key = int.from_bytes(digest[:8], "big", signed=True)
        await work.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def is_repeat(work: Work, settings: Settings, complaint: Complaint) -> bool:
    """S-classes repeat: the customer's complaint on this topic was closed within the window."""
    since = work.now - timedelta(days=settings.complaint_repeat_days)
    found = await work.session.scalar(
        select(Complaint.id)
        .where(
            Complaint.customer_id == complaint.customer_id,
            Complaint.topic == complaint.topic,
            Complaint.status == Status.closed,
            Complaint.source != Source.survey,
            Complaint.closed_at >= since,
            Complaint.id != complaint.id,
        )
        .limit(1)
    )
    return found is not None


@dataclass(frozen=True)
class BatchCount:
    complaint_ids: list[int]
    customers: int  # distinct people (service/complaints/people.py), not rows or chats
    vip_customers: int

    def reached(self, settings: Settings) -> bool:
        """More than 10 customers (KEFU_COMPLAINT_BATCH_CUSTOMERS=11), or 5 VIP customers."""
        return (
            self.customers >= settings.complaint_batch_customers
            or self.vip_customers >= settings.complaint_batch_vip
        )


def reporter(customer: Customer, settings: Settings) -> Reporter:
    return Reporter(
        customer.id,
        player=customer.player_id is not None,
        vip=customer.player_id is not None and is_vip(customer, settings),
        device=customer.device,
        address=customer.address,
    )


async def count_window(work: Work, settings: Settings, topic: str) -> BatchCount:
    """The recorded complaints on a topic opened within the batch window (its edge included)."""
    since = work.now - timedelta(minutes=settings.complaint_batch_window_min)
    rows = await work.session.execute(
        select(Complaint.id, Customer)
        .join(Customer, Customer.id == Complaint.customer_id)
        .where(
            Complaint.topic == topic,
            Complaint.opened_at >= since,
            Complaint.status.in_(RECORDED),
            Complaint.source != Source.survey,
        )
        .order_by(Complaint.id)
    )
    ids: list[int] = []
    reporters: list[Reporter] = []
    for complaint_id, customer in rows:
        ids.append(complaint_id)
        reporters.append(reporter(customer, settings))
    people = count_people(reporters)
    return BatchCount(ids, people.people, people.vip_people)


async def count_batch(work: Work, settings: Settings, batch_id: int) -> People:
    """The distinct people of every complaint in a batch."""
    customers = await work.session.scalars(
        select(Customer)
        .join(Complaint, Complaint.customer_id == Customer.id)
        .where(Complaint.batch_id == batch_id)
        .distinct()
    )
    return count_people(reporter(customer, settings) for customer in customers)


async def open_batch(work: Work, settings: Settings, topic: str) -> ComplaintBatch | None:
    """The topic's batch that is still growing: its last complaint is within the window."""
    since = work.now - timedelta(minutes=settings.complaint_batch_window_min)
    return await work.session.scalar(
        select(ComplaintBatch)
        .where(ComplaintBatch.topic == topic, ComplaintBatch.last_at >= since)
        .order_by(ComplaintBatch.last_at.desc(), ComplaintBatch.id.desc())
        .limit(1)
    )

"""S-classes: which reasons make a complaint urgent, and the keyword lists that suggest one.

Keyword matching is folded (NFKC, case-insensitive) substring matching, with one guard: a keyword
that starts with a letter or digit must not continue a word or number, and one that ends with a
digit must not be followed by another. So "315" (the consumer-rights hotline) matches "打315投诉"
but not order number "2026031512345" or "3150元", and "complain" still matches "complained".
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from sqlalchemy import select, text

from service.complaints.models import Complaint, ComplaintBatch
from service.complaints.workflow import RECORDED, Source, Status
from service.db.models import Customer
from service.settings import Settings
from service.unit import Work


def fold(value: str) -> str:
    return unicodedata.normalize("NFKC", value).casefold()


@lru_cache(maxsize=256)
def _pattern(keyword: str) -> re.Pattern[str]:
    word = fold(keyword).strip()
    before = r"(?<![0-9a-z])" if re.match(r"[0-9a-z]", word) else ""
    after = r"(?![0-9])" if re.search(r"[0-9]$", word) else ""
    return re.compile(before + re.escape(word) + after)


def matching_keyword(message: str, keywords: Iterable[str]) -> str | None:
    """The first keyword the message contains, or None."""
    folded = fold(message)
    for keyword in keywords:
        if keyword.strip() and _pattern(keyword).search(folded):
            return keyword
    return None


def is_vip(customer: Customer, settings: Settings) -> bool:
    """S-classes important customer: the player's tier is one of KEFU_COMPLAINT_VIP_TIERS."""
    return customer.tier is not None and customer.tier.casefold() in settings.vip_tiers


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
    customers: int
    vip_customers: int

    def reached(self, settings: Settings) -> bool:
        """More than 10 customers (KEFU_COMPLAINT_BATCH_CUSTOMERS=11), or 5 VIP customers."""
        return (
            self.customers >= settings.complaint_batch_customers
            or self.vip_customers >= settings.complaint_batch_vip
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
    customers: set[int] = set()
    vips: set[int] = set()
    for complaint_id, customer in rows:
        ids.append(complaint_id)
        customers.add(customer.id)
        if is_vip(customer, settings):
            vips.add(customer.id)
    return BatchCount(ids, len(customers), len(vips))


async def open_batch(work: Work, settings: Settings, topic: str) -> ComplaintBatch | None:
    """The topic's batch that is still growing: its last complaint is within the window."""
    since = work.now - timedelta(minutes=settings.complaint_batch_window_min)
    return await work.session.scalar(
        select(ComplaintBatch)
        .where(ComplaintBatch.topic == topic, ComplaintBatch.last_at >= since)
        .order_by(ComplaintBatch.last_at.desc(), ComplaintBatch.id.desc())
        .limit(1)
    )

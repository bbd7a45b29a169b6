"""Recording a complaint and keeping its row consistent: history, reasons, urgency, deadlines,
the overdue timer, the acknowledgement to the customer and the alerts to supervisors.

Everything here runs inside the caller's unit of work; nothing commits.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from service.chats.timing import Say
from service.complaints import alerts
from service.complaints.classification import (
    count_batch,
    count_window,
    is_repeat,
    lock_topic,
    open_batch,
)
from service.complaints.models import Complaint, ComplaintBatch, ComplaintEvent, ComplaintReason
from service.complaints.queries import load_card
from service.complaints.workflow import (
    ANSWER_PENDING,
    Reason,
    Source,
    Status,
    answer_window,
    pending_due,
)
from service.customers.service import is_vip
from service.db.models import Chat, Customer
from service.db.unit_of_work import Work
from service.errors import UnknownTopic
from service.settings import Settings
from service.timers import arm, cancel

COMPLAINT_DUE = "complaint_due"
SYSTEM = "system"


def timer_key(complaint_id: int) -> str:
    return f"{COMPLAINT_DUE}:{complaint_id}"


def as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


@dataclass
class Opened:
    """What recording a complaint produced, for the caller to announce."""

    complaint: Complaint
    new_batch: ComplaintBatch | None = None
    batch_members: list[int] = field(default_factory=list)


# Runs after a complaint is recorded and classified (not a survey's): surge mode links it.
RecordedHook = Callable[[Work, Complaint], Awaitable[None]]


class Recorder:
    def __init__(self, settings: Settings, say: Say) -> None:
        self.settings = settings
        self.say = say
        self.recorded_hooks: list[RecordedHook] = []

    def topic(self, topic: str) -> str:
        if topic not in self.settings.topics:
            raise UnknownTopic(
                f"unknown topic {topic!r}; one of: {', '.join(self.settings.topics)}"
            )
        return topic

    # -- history -------------------------------------------------------------------------------

    def event(
        self,
        work: Work,
        complaint: Complaint,
        actor: str,
        action: str,
        from_value: Any = None,
        to_value: Any = None,
        comment: str | None = None,
    ) -> None:
        work.session.add(
            ComplaintEvent(
                complaint_id=complaint.id,
                at=work.now,
                actor=actor,
                action=action,
                from_value=as_text(from_value),
                to_value=as_text(to_value),
                comment=comment,
            )
        )
        complaint.updated_at = work.now

    # -- reasons and deadlines -----------------------------------------------------------------

    async def reasons(self, work: Work, complaint: Complaint) -> set[str]:
        rows = await work.session.scalars(
            select(ComplaintReason.reason).where(ComplaintReason.complaint_id == complaint.id)
        )
        return set(rows)

    async def add_reason(
        self, work: Work, complaint: Complaint, reason: Reason, actor: str
    ) -> bool:
        if reason in await self.reasons(work, complaint):
            return False
        work.session.add(
            ComplaintReason(
                complaint_id=complaint.id, reason=reason, set_by=actor, created_at=work.now
            )
        )
        self.event(work, complaint, actor, "reason_added", to_value=reason)
        await work.session.flush()
        return True

    async def remove_reason(
        self, work: Work, complaint: Complaint, reason: str, actor: str
    ) -> bool:
        result = await work.session.execute(
            delete(ComplaintReason).where(
                ComplaintReason.complaint_id == complaint.id, ComplaintReason.reason == reason
            )
        )
        if not getattr(result, "rowcount", 0):
            return False
        self.event(work, complaint, actor, "reason_removed", from_value=reason)
        return True

    async def refresh(self, work: Work, complaint: Complaint) -> None:
        """Urgency from the reasons; deadlines from urgency and status; the timer from both."""
        complaint.urgent = bool(await self.reasons(work, complaint))
        if complaint.opened_at is not None and complaint.status in ANSWER_PENDING:
            window = answer_window(self.settings, complaint.source, complaint.urgent)
            complaint.answer_due_at = complaint.opened_at + window
        complaint.due_at = pending_due(
            complaint.status, complaint.answer_due_at, complaint.follow_up_due_at
        )
        key = timer_key(complaint.id)
        if complaint.due_at is not None and complaint.due_at != complaint.alerted_due_at:
            await arm(work, COMPLAINT_DUE, key, complaint.due_at, {"complaint_id": complaint.id})
        else:
            await cancel(work, key)

    def resolved(self, work: Work, complaint: Complaint) -> None:
        complaint.resolved_at = work.now
        complaint.follow_up_due_at = work.now + timedelta(hours=self.settings.complaint_follow_up_h)

    # -- recording -----------------------------------------------------------------------------

    async def open(self, work: Work, complaint: Complaint, actor: str) -> Opened:
        """A complaint is recorded: classified (S-classes), given its deadlines, timed."""
        previous = complaint.status
        complaint.status = Status.open
        complaint.opened_at = work.now
        complaint.updated_at = work.now
        work.session.add(complaint)
        await work.session.flush()
        if previous == Status.draft:
            self.event(work, complaint, actor, "status", previous, Status.open)
        else:
            self.event(work, complaint, actor, "recorded", None, Status.open, complaint.source)
        customer = await work.session.get_one(Customer, complaint.customer_id)
        if is_vip(customer, self.settings):
            await self.add_reason(work, complaint, Reason.important_customer, SYSTEM)
        if customer.sensitive:
            await self.add_reason(work, complaint, Reason.sensitive_customer, SYSTEM)
        opened = Opened(complaint)
        # An unsatisfied survey is a follow-up task, not a report of a problem: it neither
        # repeats an earlier complaint nor counts towards a batch.
        if complaint.source != Source.survey:
            if await is_repeat(work, self.settings, complaint):
                await self.add_reason(work, complaint, Reason.repeat, SYSTEM)
            await self._batch(work, complaint, opened)
        await self.refresh(work, complaint)
        if complaint.source != Source.survey:
            for hook in self.recorded_hooks:
                await hook(work, complaint)
        return opened

    async def _batch(self, work: Work, complaint: Complaint, opened: Opened) -> None:
        """S-classes batch: tag every complaint of the window; a new batch is alerted once."""
        await lock_topic(work, complaint.topic)
        count = await count_window(work, self.settings, complaint.topic)
        if not count.reached(self.settings):
            return
        batch = await open_batch(work, self.settings, complaint.topic)
        if batch is None:
            batch = ComplaintBatch(
                topic=complaint.topic,
                started_at=work.now,
                last_at=work.now,
                customers=count.customers,
                vip_customers=count.vip_customers,
            )
            work.session.add(batch)
            await work.session.flush()
            opened.new_batch = batch
        batch.last_at = work.now
        members = (
            await work.session.scalars(
                select(Complaint).where(
                    Complaint.id.in_(count.complaint_ids), Complaint.batch_id.is_(None)
                )
            )
        ).all()
        for member in members:
            member.batch_id = batch.id
            await self.add_reason(work, member, Reason.batch, SYSTEM)
            if member.id != complaint.id:
                await self.refresh(work, member)
        await work.session.flush()
        people = await count_batch(work, self.settings, batch.id)
        batch.customers, batch.vip_customers = people.people, people.vip_people
        opened.batch_members = list(
            await work.session.scalars(
                select(Complaint.id).where(Complaint.batch_id == batch.id).order_by(Complaint.id)
            )
        )

    async def announce(
        self, work: Work, opened: Opened, to: list[str], *, event: str = "recorded"
    ) -> None:
        """The recorded row to the agents concerned; urgent rows and new batches to supervisors."""
        complaint = opened.complaint
        card = await load_card(work.session, complaint, work.now)
        work.send(dict.fromkeys(to), alerts.complaint_frame(event, card))
        supervisors = await alerts.supervisors(work)
        if complaint.urgent and await self.reasons(work, complaint) - {Reason.batch}:
            work.send(supervisors, alerts.complaint_frame("urgent", card))
        if opened.new_batch is not None:
            work.send(supervisors, alerts.batch_frame(opened.new_batch, opened.batch_members))

    async def acknowledge(self, work: Work, complaint: Complaint) -> None:
        """S-complaint-ack: the customer is told when the answer is due."""
        hours = answer_window(self.settings, complaint.source, complaint.urgent)
        await self.template(
            work, complaint.chat_id, "complaint_ack", hours=f"{hours.total_seconds() / 3600:g}"
        )

    async def template(self, work: Work, chat_id: int, key: str, **variables: str) -> None:
        """Say ``key`` in the chat as the chat service says every template (overrides too)."""
        chat = await work.session.get_one(Chat, chat_id)
        await self.say(work, chat, key, notify_agent=True, **variables)

    async def chat_complaints(self, work: Work, chat_id: int) -> int:
        count = await work.session.scalar(
            select(func.count()).select_from(Complaint).where(Complaint.chat_id == chat_id)
        )
        return count or 0

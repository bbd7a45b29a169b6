"""The webhook outbox: what a unit of work wrote, as delivery rows in the same transaction.

A unit's new chats, messages, complaints (and their history rows) and ratings are found by
watching its flushes and its messages' insert (service/db/new_messages.py); assignments, closes
and due callbacks are raised by name (``work.event``). Only events some subscription wants become
rows, and the subscriptions are cached, so a unit pays nothing while nobody subscribes: not even
the watching.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session, UOWTransaction

from service.clock import Clock
from service.complaints.models import Complaint, ComplaintEvent, Rating
from service.db.direct import SEEN
from service.db.models import Chat, Message
from service.db.unit_of_work import Work
from service.webhooks.models import Webhook, WebhookDelivery

WATCHED = (Chat, Message, Complaint, ComplaintEvent, Rating)
Subscriptions = list[tuple[int, frozenset[str]]]


def iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _record(session: Session, _context: UOWTransaction, _instances: object) -> None:
    seen: list[object] = session.info[SEEN]
    seen.extend(obj for obj in session.new if isinstance(obj, WATCHED))


class Outbox:
    def __init__(
        self, clock: Clock, cache_s: float, new_id: Callable[[], str] | None = None
    ) -> None:
        self.clock = clock
        self.cache_s = cache_s
        self._new_id = new_id or (lambda: uuid.uuid4().hex)
        self._subscriptions: Subscriptions | None = None
        self._read_at: datetime | None = None

    def invalidate(self) -> None:
        """Read the subscriptions again at the next unit (this process's admin API changed one)."""
        self._subscriptions = None

    @property
    def idle(self) -> bool:
        """Known, still fresh, that nobody subscribes."""
        return self._subscriptions == [] and self._fresh()

    def _fresh(self) -> bool:
        return self._read_at is not None and self.clock.now() - self._read_at < timedelta(
            seconds=self.cache_s
        )

    async def _current(self, work: Work) -> Subscriptions:
        if self._subscriptions is None or not self._fresh():
            rows = await work.session.execute(
                select(Webhook.id, Webhook.events).where(Webhook.active.is_(True))
            )
            self._subscriptions = [(id_, frozenset(events)) for id_, events in rows]
            self._read_at = self.clock.now()
        return self._subscriptions

    # -- the unit of work's hooks (service/db/unit_of_work.py) ---------------------------------

    def begin(self, work: Work) -> None:
        if self.idle:
            return
        sync = work.session.sync_session
        if SEEN not in sync.info:  # a batch's units share one session (service/db/group_commit.py)
            sync.info[SEEN] = []
            event.listen(sync, "before_flush", _record)

    async def flush(self, work: Work) -> None:
        seen: list[object] | None = work.session.sync_session.info.get(SEEN)
        if seen is None and not work.events:
            return
        if seen is not None:
            await work.session.flush()  # the unit's last new rows are seen, with their ids
        if not seen and not work.events:
            return
        subscriptions = await self._current(work)
        if subscriptions:
            events = [*self._found(seen or []), *work.events]
            for name, data in events:
                for webhook_id, wanted in subscriptions:
                    if name in wanted:
                        work.session.add(self._delivery(work.now, webhook_id, name, data))
        if seen is not None:
            seen.clear()
        work.events.clear()

    async def assigned(self, work: Work, chat: Chat) -> None:
        if not self.idle:
            work.event("chat.assigned", {"chat_id": chat.id, "agent_id": chat.agent_id})

    async def closing(self, work: Work, chat: Chat, by: str) -> None:
        if not self.idle:
            work.event("chat.closed", {"chat_id": chat.id, "by": by, "agent_id": chat.agent_id})

    # -- rows to events ------------------------------------------------------------------------

    def _found(self, seen: list[object]) -> list[tuple[str, dict[str, Any]]]:
        found: list[tuple[str, dict[str, Any]]] = []
        created = {obj.id for obj in seen if isinstance(obj, Complaint)}
        for obj in dict.fromkeys(seen):  # once each, in the order they were written
            if isinstance(obj, Chat):
                found.append(("chat.opened", chat_data(obj)))
            # S-privacy: internal notes stay on the desk.
            elif isinstance(obj, Message) and not obj.internal:
                found.append(("message.created", message_data(obj)))
            elif isinstance(obj, Complaint):
                found.append(("complaint.created", complaint_data(obj)))
            elif isinstance(obj, ComplaintEvent) and obj.complaint_id not in created:
                found.append(("complaint.updated", complaint_event_data(obj)))
            elif isinstance(obj, Rating):
                found.append(("rating.created", rating_data(obj)))
        return found

    def _delivery(
        self, now: datetime, webhook_id: int, name: str, data: dict[str, Any]
    ) -> WebhookDelivery:
        delivery_id = self._new_id()
        body = {"id": delivery_id, "event": name, "created_at": iso(now), "data": data}
        return WebhookDelivery(
            delivery_id=delivery_id,
            webhook_id=webhook_id,
            event=name,
            body=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
            status="pending",
            attempts=0,
            next_at=now,
            created_at=now,
        )


def chat_data(chat: Chat) -> dict[str, Any]:
    return {
        "chat_id": chat.id,
        "customer_id": chat.customer_id,
        "group_id": chat.group_id,
        "locale": chat.locale,
        "at": iso(chat.created_at),
    }


def message_data(message: Message) -> dict[str, Any]:
    return {
        "chat_id": message.chat_id,
        "seq": message.seq,
        "message_id": message.id,
        "sender": message.sender,
        "agent_id": message.agent_id,
        "text": message.text,
        "template": message.template,
        "corrects": message.corrects,
        "at": iso(message.created_at),
    }


def complaint_data(complaint: Complaint) -> dict[str, Any]:
    return {
        "complaint_id": complaint.id,
        "chat_id": complaint.chat_id,
        "customer_id": complaint.customer_id,
        "topic": complaint.topic,
        "status": complaint.status,
        "urgent": complaint.urgent,
        "source": complaint.source,
        "at": iso(complaint.created_at),
    }


def complaint_event_data(row: ComplaintEvent) -> dict[str, Any]:
    return {
        "complaint_id": row.complaint_id,
        "action": row.action,
        "from": row.from_value,
        "to": row.to_value,
        "actor": row.actor,
        "at": iso(row.at),
    }


def rating_data(rating: Rating) -> dict[str, Any]:
    return {
        "chat_id": rating.chat_id,
        "customer_id": rating.customer_id,
        "agent_id": rating.agent_id,
        "score": rating.score,
        "band": rating.band,
        "at": iso(rating.created_at),
    }

"""Leave-a-message and the callback tasks it creates (S-callback-24h, S-no-blind-transfer).

A customer waiting in the queue may leave a message with a contact instead of waiting (the
widget offers it when told ``nobody_online``). It becomes a callback due within
``KEFU_CALLBACK_WITHIN_H`` (24 h at most); the customer is told by when, the chat ends, and a
timer alerts connected supervisors if the callback is still open when it falls due.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.callbacks.schemas import CallbackDone, CallbackOut, CallbackPage
from service.chats.frames import customer_card, message_frame
from service.chats.repository import open_chat
from service.chats.routing import customer_address
from service.chats.store import append, check_length
from service.db.models import Callback, CallbackStatus, ChatStatus, Customer, Sender, Timer
from service.db.unit_of_work import Work
from service.errors import InvalidState, NotFound
from service.hours import local_time
from service.privacy.contacts import Sealer
from service.realtime.events import CallbackOverdue
from service.timers import Scheduler, arm, cancel

if TYPE_CHECKING:
    from service.chats.timing import Close, Say
    from service.desk.service import Desk
    from service.settings import Settings

CALLBACK_DUE = "callback_due"


class Callbacks:
    def __init__(
        self,
        settings: Settings,
        scheduler: Scheduler,
        desk: Desk,
        say: Say,
        close: Close,
        sealer: Sealer,
    ) -> None:
        self.max_text = settings.max_text
        self.sealer = sealer
        self.within = timedelta(hours=settings.callback_within_h)
        self.desk = desk
        self.say = say
        self.close = close
        scheduler.register(CALLBACK_DUE, self._due)

    async def leave_message(self, work: Work, chat_id: int, contact: str, text: str) -> None:
        check_length(text, self.max_text)
        chat = await open_chat(work, chat_id)
        if chat.status != ChatStatus.queued:
            raise InvalidState("an agent is serving this chat; write to them instead")
        due = work.now + self.within
        message = await append(work, chat.id, Sender.customer, text, kind="leave_message")
        work.send(customer_address(chat.id), partial(message_frame, message))
        callback = Callback(
            chat_id=chat.id,
            customer_id=chat.customer_id,
            contact=self.sealer.seal(contact),  # S-privacy: never in clear at rest
            text=text,
            locale=chat.locale,
            status=CallbackStatus.open,
            due_at=due,
            created_at=work.now,
        )
        work.session.add(callback)
        await work.session.flush()
        await arm(work, CALLBACK_DUE, _key(callback.id), due, {"callback_id": callback.id})
        when = local_time(self.desk.zone, due)
        await self.say(work, chat, "leave_message_ack", time=when)
        await self.close(work, chat, by="customer", template=None)

    async def _due(self, work: Work, timer: Timer) -> None:
        callback = await work.session.get(Callback, timer.payload["callback_id"])
        if callback is None or callback.status != CallbackStatus.open:
            return
        due_at = callback.due_at.isoformat().replace("+00:00", "Z")
        await self.desk.alert(work, CallbackOverdue(callback.id, callback.chat_id, due_at))
        work.event(
            "callback.due",
            {"callback_id": callback.id, "chat_id": callback.chat_id, "due_at": due_at},
        )

    async def page(
        self,
        session: AsyncSession,
        now: datetime,
        *,
        status: str | None,
        overdue: bool | None,
        limit: int,
        offset: int,
    ) -> CallbackPage:
        query = select(Callback, Customer).join(Customer, Customer.id == Callback.customer_id)
        if status is not None:
            query = query.where(Callback.status == status)
        if overdue is True:
            query = query.where(Callback.status == CallbackStatus.open, Callback.due_at <= now)
        elif overdue is False:
            query = query.where((Callback.status != CallbackStatus.open) | (Callback.due_at > now))
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.execute(
            query.order_by(Callback.due_at, Callback.id).limit(limit).offset(offset)
        )
        items = [self._out(callback, customer, now) for callback, customer in rows]
        return CallbackPage(items=items, total=total or 0)

    async def get(self, session: AsyncSession, callback_id: int, now: datetime) -> CallbackOut:
        callback = await session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"no callback {callback_id}")
        return self._out(callback, await session.get_one(Customer, callback.customer_id), now)

    async def complete(
        self, work: Work, callback_id: int, data: CallbackDone, by: str
    ) -> CallbackOut:
        callback = await work.session.get(Callback, callback_id)
        if callback is None:
            raise NotFound(f"no callback {callback_id}")
        if callback.status != CallbackStatus.open:
            raise InvalidState(f"callback {callback_id} is already {callback.status}")
        callback.status = CallbackStatus.done
        callback.done_at = work.now
        callback.done_by = by
        callback.outcome = data.outcome
        await cancel(work, _key(callback.id))
        await work.session.flush()
        customer = await work.session.get_one(Customer, callback.customer_id)
        return self._out(callback, customer, work.now)

    def _out(self, callback: Callback, customer: Customer, now: datetime) -> CallbackOut:
        return out(callback, customer, now, self.sealer.open(callback.contact))


def _key(callback_id: int) -> str:
    return f"{CALLBACK_DUE}:{callback_id}"


def out(callback: Callback, customer: Customer, now: datetime, contact: str) -> CallbackOut:
    """The answer's shape; ``contact`` already opened (the admin API masks it without pii)."""
    fields: dict[str, Any] = {
        name: getattr(callback, name)
        for name in CallbackOut.model_fields
        if name not in {"customer", "overdue", "contact"}
    }
    overdue = callback.status == CallbackStatus.open and callback.due_at <= now
    return CallbackOut.model_validate(
        {**fields, "contact": contact, "customer": customer_card(customer), "overdue": overdue}
    )

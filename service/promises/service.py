"""Promises are tasks (S-callback, S-callback-24h, S-follow-up).

An agent who promises a time ("我会在XX(时间)答复您", or "I'll get back to you" on a
complaint) sends a ``promise`` frame with a structured ``due_at``. A time in the past or beyond
``KEFU_PROMISE_WITHIN_H`` is refused (``rules.check_due``). Otherwise, in one unit: the
quick reply goes out with the time written in desk time, a promise row owned by the agent is
stored, and two timers are armed: a reminder to the owner ``KEFU_PROMISE_REMIND_MIN`` before,
and the due time, at which a promise still open is escalated to the owner and every connected
supervisor (and listed as overdue). Promises are listed and kept over the admin API and from
the console; a shift handover passes them on (service/desk/handover.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats.frames import customer_card
from service.chats.repository import chat_of
from service.chats.routing import agent_address
from service.chats.store import find_resend
from service.complaints.alerts import supervisors
from service.complaints.models import Complaint
from service.complaints.workflow import FINISHED, RECORDED, Status
from service.db.models import Agent, Chat, Customer, Message, Sender, Timer
from service.db.unit_of_work import Work
from service.errors import InvalidState, NotFound, PromiseRefused
from service.hours import local_time
from service.promises.models import Promise
from service.promises.rules import TEMPLATE, Kind, State, check_due, is_overdue, remind_at
from service.promises.schemas import PromiseDone, PromiseOut, PromisePage
from service.realtime.events import PromiseEvent
from service.realtime.protocol import MakePromise
from service.settings import Settings
from service.timers import Scheduler, arm, cancel

PROMISE_REMIND = "promise_remind"
PROMISE_DUE = "promise_due"
# Complaints still worked on: a follow-up may be promised on them, a handover passes them on.
UNFINISHED = RECORDED - FINISHED - {Status.followed_up}


class AgentSay(Protocol):
    """Render, screen, store and send a template as the agent's line (``Conduct.say``)."""

    async def __call__(
        self,
        work: Work,
        agent_id: int,
        chat: Chat,
        key: str,
        values: Mapping[str, str] | None,
        client_id: str | None,
    ) -> Message: ...


class Promises:
    def __init__(
        self, settings: Settings, scheduler: Scheduler, zone: ZoneInfo, say: AgentSay
    ) -> None:
        self.zone = zone
        self.say = say
        self.within = timedelta(hours=settings.promise_within_h)
        self.lead = timedelta(minutes=settings.promise_remind_min)
        scheduler.register(PROMISE_REMIND, self._remind)
        scheduler.register(PROMISE_DUE, self._due)

    async def make(self, work: Work, agent_id: int, frame: MakePromise) -> int | None:
        """The quick reply with the time filled, and the task; returns the seq to acknowledge."""
        if frame.client_id is not None:
            resent = await find_resend(work, frame.chat_id, Sender.agent, agent_id, frame.client_id)
            if resent is not None:
                return resent
        chat = await chat_of(work, agent_id, frame.chat_id)
        due = check_due(work.now, frame.due_at, self.within)
        kind = Kind(frame.kind)
        complaint_id = None
        if kind == Kind.follow_up:
            complaint_id = await self._complaint_of(work, chat.id, frame.complaint_id)
        when = local_time(self.zone, due)
        message = await self.say(
            work, agent_id, chat, TEMPLATE[kind], {"time": when}, frame.client_id
        )
        promise = Promise(
            kind=kind,
            chat_id=chat.id,
            customer_id=chat.customer_id,
            complaint_id=complaint_id,
            made_by_id=agent_id,
            agent_id=agent_id,
            state=State.open,
            due_at=due,
            message_seq=message.seq,
            created_at=work.now,
        )
        work.session.add(promise)
        await work.session.flush()
        reminder = remind_at(work.now, due, self.lead)
        if reminder < due:
            await arm(
                work, PROMISE_REMIND, _key(PROMISE_REMIND, promise.id), reminder, _ref(promise)
            )
        await arm(work, PROMISE_DUE, _key(PROMISE_DUE, promise.id), due, _ref(promise))
        await self._tell(work, promise, "made", [agent_address(agent_id)])
        return message.seq

    async def _complaint_of(self, work: Work, chat_id: int, complaint_id: int | None) -> int:
        """The unfinished complaint of this chat the follow-up answers (the latest if unnamed)."""
        query = select(Complaint.id).where(
            Complaint.chat_id == chat_id, Complaint.status.in_(UNFINISHED)
        )
        if complaint_id is not None:
            query = query.where(Complaint.id == complaint_id)
        found = await work.session.scalar(query.order_by(Complaint.id.desc()).limit(1))
        if found is None:
            raise PromiseRefused(
                "a follow-up answers an unfinished complaint of this chat; record one first",
                reason="no_complaint",
            )
        return int(found)

    # -- timers --------------------------------------------------------------------------------

    async def _remind(self, work: Work, timer: Timer) -> None:
        promise = await work.session.get(Promise, timer.payload["promise_id"])
        if promise is None or promise.state != State.open:
            return
        promise.reminded_at = work.now
        await self._tell(work, promise, "reminder", [agent_address(promise.agent_id)])

    async def _due(self, work: Work, timer: Timer) -> None:
        """S-callback-24h: a promise still open at its time goes up to the supervisors."""
        promise = await work.session.get(Promise, timer.payload["promise_id"])
        if promise is None or promise.state != State.open:
            return
        promise.escalated_at = work.now
        to = [agent_address(promise.agent_id), *await supervisors(work)]
        await self._tell(work, promise, "overdue", list(dict.fromkeys(to)))

    # -- the desk and the console --------------------------------------------------------------

    async def page(
        self,
        session: AsyncSession,
        now: datetime,
        *,
        state: str | None = None,
        overdue: bool | None = None,
        agent_id: int | None = None,
        kind: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> PromisePage:
        query = select(Promise)
        if state is not None:
            query = query.where(Promise.state == state)
        if kind is not None:
            query = query.where(Promise.kind == kind)
        if agent_id is not None:
            query = query.where(Promise.agent_id == agent_id)
        if overdue is True:
            query = query.where(Promise.state == State.open, Promise.due_at <= now)
        elif overdue is False:
            query = query.where((Promise.state != State.open) | (Promise.due_at > now))
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(
            query.order_by(Promise.due_at, Promise.id).limit(limit).offset(offset)
        )
        items = [await out(session, promise, now) for promise in rows.all()]
        return PromisePage(items=items, total=total or 0)

    async def get(self, session: AsyncSession, promise_id: int, now: datetime) -> PromiseOut:
        promise = await session.get(Promise, promise_id)
        if promise is None:
            raise NotFound(f"no promise {promise_id}")
        return await out(session, promise, now)

    async def complete(
        self,
        work: Work,
        promise_id: int,
        data: PromiseDone,
        by: str,
        *,
        agent_id: int | None = None,
    ) -> PromiseOut:
        """Kept: over the admin API (``by`` the admin), or by its owner from the console."""
        promise = await work.session.get(Promise, promise_id)
        # S-privacy: an agent hears the same whether it is someone else's or does not exist.
        if promise is None or (agent_id is not None and promise.agent_id != agent_id):
            raise NotFound(f"no promise {promise_id} of yours")
        if promise.state != State.open:
            raise InvalidState(f"promise {promise_id} is already {promise.state}")
        promise.state = State.done
        promise.done_at = work.now
        promise.done_by = by
        promise.outcome = data.outcome
        await cancel(work, _key(PROMISE_REMIND, promise.id), _key(PROMISE_DUE, promise.id))
        await work.session.flush()
        await self._tell(work, promise, "done", [agent_address(promise.agent_id)])
        return await out(work.session, promise, work.now)

    async def open_of(self, session: AsyncSession, agent_id: int, now: datetime) -> PromisePage:
        return await self.page(session, now, state=State.open, agent_id=agent_id, limit=500)

    async def hand_over(self, work: Work, promise: Promise, to_id: int) -> None:
        """A shift ended: the promise passes to ``to_id``, both agents told."""
        before = promise.agent_id
        promise.agent_id = to_id
        await work.session.flush()
        to = [agent_address(before), agent_address(to_id)]
        await self._tell(work, promise, "handed_over", to)

    async def _tell(self, work: Work, promise: Promise, event: str, to: list[str]) -> None:
        card = await out(work.session, promise, work.now)
        work.send(to, promise_frame(event, card))


def promise_frame(event: str, card: PromiseOut) -> PromiseEvent:
    return PromiseEvent(event, card.model_dump(mode="json"))


def _key(kind: str, promise_id: int) -> str:
    return f"{kind}:{promise_id}"


def _ref(promise: Promise) -> dict[str, Any]:
    return {"promise_id": promise.id}


async def out(session: AsyncSession, promise: Promise, now: datetime) -> PromiseOut:
    customer = await session.get_one(Customer, promise.customer_id)
    agent = await session.get_one(Agent, promise.agent_id)
    fields = {
        name: getattr(promise, name)
        for name in PromiseOut.model_fields
        if name not in {"customer", "agent", "overdue"}
    }
    return PromiseOut.model_validate(
        {
            **fields,
            "customer": customer_card(customer),
            "agent": {"id": agent.id, "name": agent.name, "employee_no": agent.employee_no},
            "overdue": is_overdue(promise.state, promise.due_at, now),
        }
    )

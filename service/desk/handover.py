"""Shift handover and the start of service hours (S-no-unattended, S-follow-up).

Two durable timers, armed at start-up and again each time they fire:

- ``shift_end`` at the next moment a shift of ``KEFU_SHIFTS`` ends: the agents going off
  (``shifts.going_off``) hand their open chats, unfinished complaints and open promises to the
  agents on duty from then (``shifts.share`` decides who takes what). A chat gets a handoff note
  (an internal line) and the ``transferred`` notice, and goes to its taker through routing, or
  back to the queue through routing when no taker has a free seat. An agent going off who is
  online is set ``away`` first, so routing gives them nothing new. Every passing is a
  ``handovers`` row: from, to, what, when, why.
- ``hours_begin`` when service hours begin after a gap: nobody serving then is the same alarm
  as the last agent leaving during hours (``desk_unattended`` to every supervisor on watch).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats import machine, routing
from service.chats.frames import iso, message_frame
from service.chats.repository import locked_chat
from service.chats.routing import agent_address
from service.chats.rows import write
from service.chats.store import append
from service.chats.timing import Say, Timing
from service.complaints.models import Complaint
from service.complaints.service import ComplaintService
from service.db.models import Agent, AgentStatus, Chat, ChatStatus, Sender, Timer
from service.db.unit_of_work import Work
from service.desk.models import Handover
from service.desk.service import Desk, serving
from service.hours import local_time
from service.promises.models import Promise
from service.promises.rules import State
from service.promises.service import UNFINISHED, Promises
from service.realtime import events
from service.settings import Settings
from service.shifts import (
    Item,
    Taker,
    going_off,
    hours_begin,
    next_end,
    on_duty,
    parse_shifts,
    share,
    taking_over,
)
from service.timers import Scheduler, arm

log = logging.getLogger(__name__)

SHIFT_END = "shift_end"
HOURS_BEGIN = "hours_begin"
SHIFT_END_WHY = "shift_end"


# Set an agent's status as the console's ``status`` frame does (the chat service's set_status).
SetStatus = Callable[[Work, int, str], Awaitable[None]]


class Handovers:
    def __init__(
        self,
        settings: Settings,
        scheduler: Scheduler,
        desk: Desk,
        timing: Timing,
        say: Say,
        set_status: SetStatus,
        complaints: ComplaintService,
        promises: Promises,
    ) -> None:
        self.timezone = settings.timezone
        self.desk = desk
        self.timing = timing
        self.say = say
        self.set_status = set_status
        self.complaints = complaints
        self.promises = promises
        self.shifts = parse_shifts(settings.shifts)
        scheduler.register(SHIFT_END, self._shift_end)
        scheduler.register(HOURS_BEGIN, self._hours_begin)

    async def arm(self, work: Work) -> None:
        """At start-up: the next shift end and start of hours, unless already armed.

        An armed timer is kept as it is: one that fell due while no process ran fires now.
        """
        armed = set(
            await work.session.scalars(
                select(Timer.key).where(Timer.key.in_([SHIFT_END, HOURS_BEGIN]))
            )
        )
        if self.shifts and SHIFT_END not in armed:
            await self._arm_shift_end(work, work.now)
        if HOURS_BEGIN not in armed:
            await self._arm_hours_begin(work, work.now)

    async def _arm_shift_end(self, work: Work, after: datetime) -> None:
        due, ending = next_end(self.shifts, self.desk.zone, after)
        await arm(work, SHIFT_END, SHIFT_END, due, {"shifts": ending})

    async def _arm_hours_begin(self, work: Work, after: datetime) -> None:
        due = hours_begin(self.desk.windows, self.desk.zone, after)
        if due is not None:
            await arm(work, HOURS_BEGIN, HOURS_BEGIN, due)

    # -- S-no-unattended: service hours begin ----------------------------------------------------

    async def _hours_begin(self, work: Work, timer: Timer) -> None:
        await self._arm_hours_begin(work, work.now)
        if not self.desk.in_service(work.now) or await self.desk.serving_count(work.session):
            return
        queued = len(await routing.queued_chats(work))
        await self.desk.alert(work, events.DeskUnattended(iso(work.now), queued))

    # -- the handover ------------------------------------------------------------------------------

    async def _shift_end(self, work: Work, timer: Timer) -> None:
        await self._arm_shift_end(work, max(work.now, timer.due_at))
        await self.hand_over(work, list(timer.payload.get("shifts", [])), timer.due_at)

    async def hand_over(self, work: Work, ending: list[str], at: datetime) -> list[Handover]:
        """The agents of ``ending`` going off at ``at`` hand everything to the next shift."""
        zone = self.desk.zone
        off = going_off(self.shifts, ending, zone, at)
        on = taking_over(self.shifts, zone, at)
        if not off:
            return []
        agents = {
            agent.employee_no: agent
            for agent in await work.session.scalars(
                select(Agent).where(Agent.employee_no.in_(off | set(on))).order_by(Agent.id)
            )
        }
        leaving = {agents[n].id: agents[n] for n in sorted(off) if n in agents}
        taking = [agents[n] for n in on if n in agents and agents[n].active]
        if not leaving:
            return []
        for agent in leaving.values():
            if agent.status == AgentStatus.online:
                # Off duty: no new chats from now (the console is told; they may set online
                # again to work on, their choice).
                await self.set_status(work, agent.id, AgentStatus.away)
        if work.is_postgres:
            # Their chats locked first, in id order, as the writer's batches lock theirs.
            await work.session.execute(
                select(Chat.id)
                .where(Chat.agent_id.in_(list(leaving)), Chat.status == ChatStatus.assigned)
                .order_by(Chat.id)
                .with_for_update()
            )
        items = await self._items(work, list(leaving))
        takers = [await self._taker(work.session, agent) for agent in taking]
        names = {
            agent_id: next(
                s.name for s in self.shifts if s.name in ending and a.employee_no in s.employees
            )
            for agent_id, a in leaving.items()
        }
        by_id = {agent.id: agent for agent in taking}
        rows: list[Handover] = []
        for item, to_id in share(items, takers):
            sender = leaving[item.from_id]
            taker = by_id.get(to_id) if to_id is not None else None
            if item.what == "chat" and taker is not None:
                # Checked again (and locked on PostgreSQL): still serving, a seat still free.
                taker = await routing.pick_agent(work, agent_id=taker.id)
            note = _note(names[item.from_id], local_time(zone, at), sender, taker, item.what)
            if item.what == "chat":
                to_id = await self._chat(work, item.ref_id, sender, taker, note)
            elif item.what == "complaint":
                to_id = await self._complaint(work, item.ref_id, taker, names[item.from_id], note)
            else:
                to_id = await self._promise(work, item.ref_id, taker)
            row = Handover(
                at=work.now,
                why=SHIFT_END_WHY,
                shift=names[item.from_id],
                from_agent_id=item.from_id,
                to_agent_id=to_id,
                what=item.what,
                ref_id=item.ref_id,
                note=note,
            )
            work.session.add(row)
            rows.append(row)
        await work.session.flush()
        await routing.drain(work)
        log.info("shift.handed_over shifts=%s items=%s", ",".join(ending), len(rows))
        return rows

    async def _items(self, work: Work, agent_ids: list[int]) -> list[Item]:
        chats = await work.session.execute(
            select(Chat.id, Chat.agent_id)
            .where(Chat.agent_id.in_(agent_ids), Chat.status == ChatStatus.assigned)
            .order_by(Chat.id)
        )
        # Theirs: owned by them, or taken by them and owned by nobody yet (S-first-responder).
        holder = func.coalesce(Complaint.owner_id, Complaint.agent_id)
        complaints = await work.session.execute(
            select(Complaint.id, holder)
            .where(holder.in_(agent_ids), Complaint.status.in_(UNFINISHED))
            .order_by(Complaint.id)
        )
        promises = await work.session.execute(
            select(Promise.id, Promise.agent_id)
            .where(Promise.agent_id.in_(agent_ids), Promise.state == State.open)
            .order_by(Promise.id)
        )
        # The queries select only rows whose owner is one of agent_ids: never None.
        return [
            *(Item("chat", ref, owner) for ref, owner in chats if owner is not None),
            *(Item("complaint", ref, owner) for ref, owner in complaints if owner is not None),
            *(Item("promise", ref, owner) for ref, owner in promises),
        ]

    async def _taker(self, session: AsyncSession, agent: Agent) -> Taker:
        async def count(query: Any) -> int:
            return int(await session.scalar(query) or 0)

        open_chats = await count(
            select(func.count()).where(
                Chat.agent_id == agent.id, Chat.status == ChatStatus.assigned
            )
        )
        load = await count(
            select(func.count()).where(
                Complaint.owner_id == agent.id, Complaint.status.in_(UNFINISHED)
            )
        ) + await count(
            select(func.count()).where(Promise.agent_id == agent.id, Promise.state == State.open)
        )
        return Taker(agent.id, serving(agent), open_chats, agent.capacity, load)

    async def _chat(
        self, work: Work, chat_id: int, sender: Agent, taker: Agent | None, note: str
    ) -> int | None:
        """The handoff note and the customer's notice; then to the taker, or to the queue."""
        chat = await locked_chat(work, chat_id)
        if chat is None or chat.status != ChatStatus.assigned or chat.agent_id != sender.id:
            return None
        handoff = await append(
            work, chat.id, Sender.agent, note, agent_id=sender.id, internal=True, kind="handoff"
        )
        work.send(agent_address(sender.id), partial(message_frame, handoff, sender))
        work.send(
            agent_address(sender.id),
            events.Unassigned(chat.id, SHIFT_END_WHY),
        )
        # S-no-blind-transfer: a colleague takes over and sees the whole conversation.
        await self.say(work, chat, "transferred", notify_agent=False)
        if taker is not None:
            await routing.assign(work, chat, taker, SHIFT_END_WHY)
            return taker.id
        # Nobody of the next shift has a seat: the front of the line, as a returned chat.
        await self.timing.unassigned(work, chat)
        write(chat, machine.returned_to_queue())
        await routing.route(work, chat, SHIFT_END_WHY)
        return None

    async def _complaint(
        self, work: Work, complaint_id: int, taker: Agent | None, shift: str, note: str
    ) -> int | None:
        complaint = await work.session.get_one(Complaint, complaint_id)
        if taker is None:
            return None  # nobody on the next shift: it stays with its owner, the row says so
        await self.complaints.hand_over(work, complaint, taker.id, f"shift:{shift}", note)
        return taker.id

    async def _promise(self, work: Work, promise_id: int, taker: Agent | None) -> int | None:
        promise = await work.session.get_one(Promise, promise_id)
        if taker is None:
            return None
        await self.promises.hand_over(work, promise, taker.id)
        return taker.id

    def status(self, now: datetime) -> dict[str, Any]:
        """The shifts as configured and which are on duty, for GET /api/v1/shifts."""
        zone = self.desk.zone
        current = {shift.name for shift in on_duty(self.shifts, zone, now)}
        next_change = next_end(self.shifts, zone, now)[0] if self.shifts else None
        return {
            "timezone": self.timezone,
            "shifts": [
                {
                    "name": shift.name,
                    "hours": shift.hours,
                    "employees": list(shift.employees),
                    "on_duty": shift.name in current,
                }
                for shift in self.shifts
            ],
            "next_end": next_change,
            "at": now,
        }


def _note(shift: str, when: str, sender: Agent, taker: Agent | None, what: str) -> str:
    """The handoff note every passing carries (an internal line on a chat)."""
    thing = {"chat": "对话", "complaint": "投诉", "promise": "约定回复"}[what]
    to = f"交给{taker.name}(工号{taker.employee_no})" if taker else "无人接手,退回队列"
    if taker is None and what != "chat":
        to = "下一班无人在岗,仍由原负责人跟进"
    return f"交接班:{shift}班于{when}结束,{sender.name}(工号{sender.employee_no})的{thing}{to}"

"""Who is on duty, and what happens when nobody is (S-no-unattended, S-callback-24h).

An agent *serves* while online, connected and active: only such agents take chats. When a chat
opens and nobody serves it (nobody at all, or nobody of its group), the customer is told at
once (template ``nobody_online``) and may leave a message for a callback. When the last serving
agent leaves during service hours the desk is *unattended*: the admin API says so and every
connected supervisor gets an ``alert``; waiting customers are told too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats import routing
from service.chats.routing import agent_address
from service.db.models import (
    Agent,
    AgentGroup,
    AgentRole,
    AgentStatus,
    Callback,
    CallbackStatus,
    Chat,
    ChatStatus,
    Message,
    in_line,
)
from service.db.unit_of_work import Work
from service.hours import in_service, parse_hours, zone
from service.promises.models import Promise
from service.promises.rules import State
from service.realtime import events

if TYPE_CHECKING:
    from service.chats.timing import Say
    from service.settings import Settings


def serving(agent: Agent) -> bool:
    return agent.status == AgentStatus.online and agent.connections > 0 and agent.active


# The same two rules as SQL conditions.
SERVING = (Agent.status == AgentStatus.online, Agent.connections > 0, Agent.active.is_(True))
WATCHING = (  # supervisors who get alerts: connected, online or away
    Agent.role == AgentRole.supervisor,
    Agent.connections > 0,
    Agent.active.is_(True),
    Agent.status != AgentStatus.offline,
)


# Built once: every new chat asks (S-callback-24h), and building a statement costs more than
# the count.
_SERVING_COUNT = select(func.count()).select_from(Agent).where(*SERVING)
_SERVING_IN_GROUP = _SERVING_COUNT.where(
    Agent.id.in_(select(AgentGroup.agent_id).where(AgentGroup.group_id == bindparam("group_id")))
)
# A new chat's hello asks both (S-callback-24h, and the place it would take): one statement.
_SERVING_AND_LINE = select(_SERVING_COUNT.scalar_subquery(), routing.LINE_LENGTH.scalar_subquery())
_SERVING_AND_LINE_IN_GROUP = select(
    _SERVING_IN_GROUP.scalar_subquery(), routing.GROUP_LINE_LENGTH.scalar_subquery()
)


async def count(session: AsyncSession, model: Any, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


class Desk:
    def __init__(self, settings: Settings, say: Say) -> None:
        self.settings = settings
        self.say = say
        self.windows = parse_hours(settings.service_hours)
        self.zone = zone(settings.timezone)

    def in_service(self, now: datetime) -> bool:
        return in_service(self.windows, self.zone, now)

    async def serving_count(self, session: AsyncSession, group_id: int | None = None) -> int:
        """Agents who can take a chat now (of ``group_id``'s members); asked at every hello."""
        if group_id is None:
            found = await session.scalar(_SERVING_COUNT)
        else:
            found = await session.scalar(_SERVING_IN_GROUP, {"group_id": group_id})
        return int(found or 0)

    async def serving_and_line(self, work: Work, group_id: int | None) -> tuple[int, int]:
        """The agents who can take a chat of ``group_id`` now, and how many chats wait in its
        line, in one statement (every new chat's hello asks both)."""
        if group_id is None:
            row = (await work.session.execute(_SERVING_AND_LINE)).one()
        else:
            row = (
                await work.session.execute(_SERVING_AND_LINE_IN_GROUP, {"group_id": group_id})
            ).one()
        return int(row[0] or 0), int(row[1] or 0)

    async def tell_if_nobody_serves(
        self, work: Work, chats: Sequence[Chat], serving: dict[int | None, int] | None = None
    ) -> None:
        """S-callback-24h: a waiting customer nobody can serve hears so, once per situation.
        ``serving``: the counts by group already asked in this unit."""
        counts: dict[int | None, int] = dict(serving or {})
        for chat in chats:
            if chat.status != ChatStatus.queued:
                continue
            if chat.group_id not in counts:
                counts[chat.group_id] = await self.serving_count(work.session, chat.group_id)
            if counts[chat.group_id] > 0:
                continue
            last = await work.session.scalar(
                select(Message.template).where(
                    Message.chat_id == chat.id, Message.seq == chat.last_seq
                )
            )
            if last != "nobody_online":  # already the last thing they were told
                await self.say(work, chat, "nobody_online")

    async def presence_changed(self, work: Work, agent: Agent, was_serving: bool) -> None:
        """An agent stopped serving: if the desk (or a group) is now empty, tell who must know."""
        if not was_serving or serving(agent):
            return
        await self.tell_if_nobody_serves(work, await routing.queued_chats(work))
        if self.in_service(work.now) and await self.serving_count(work.session) == 0:
            queued = len(await routing.queued_chats(work))
            await self.alert(work, events.DeskUnattended(_iso(work.now), queued))

    async def alert(self, work: Work, alert: events.Event) -> None:
        """An ``alert`` frame to every supervisor on watch."""
        supervisors = await work.session.scalars(select(Agent.id).where(*WATCHING))
        work.send([agent_address(id_) for id_ in supervisors], alert)

    async def status(self, session: AsyncSession, now: datetime) -> dict[str, Any]:
        """Where the desk stands, for GET /api/v1/desk."""
        serving_now = await self.serving_count(session)
        in_hours = self.in_service(now)
        is_open = Callback.status == CallbackStatus.open
        promised = Promise.state == State.open
        return {
            "unattended": in_hours and serving_now == 0,
            "in_service_hours": in_hours,
            "service_hours": self.settings.service_hours,
            "timezone": self.settings.timezone,
            "serving_agents": serving_now,
            "supervisors_connected": await count(session, Agent, *WATCHING),
            "queued_chats": await count(session, Chat, in_line()),
            "open_callbacks": await count(session, Callback, is_open),
            "overdue_callbacks": await count(session, Callback, is_open, Callback.due_at <= now),
            "open_promises": await count(session, Promise, promised),
            "overdue_promises": await count(session, Promise, promised, Promise.due_at <= now),
            "at": now,
        }


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")

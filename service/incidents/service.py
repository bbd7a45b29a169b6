"""Surge mode for outages (S-classes batch): declaring an incident, linking chats and
complaints to it, the known-issue answer, the widget's banner, and the resolution.

While an incident is open, a new chat whose customer's first message matches its keywords
gets the known-issue answer at once (before routing: in the unit that stores the message) and
is linked; so is every new complaint that matches. Resolving it tells each linked customer
once: a system message in a chat still open, or a delivery row that marks a callback left for
follow-up. ``incident_deliveries`` has one row per (incident, chat), inserted with ON CONFLICT
DO NOTHING, so a second resolve or a second process racing it sends nothing twice.

Everything runs inside the caller's unit of work; nothing commits (STYLE 14).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from service.chats.timing import Say
from service.complaints.models import Complaint, ComplaintBatch
from service.db.models import Callback, Chat, ChatStatus
from service.db.unit_of_work import Work
from service.desk.service import Desk
from service.errors import InvalidRange, InvalidState, NotFound, UnknownTopic
from service.hours import local_time
from service.incidents.models import (
    Incident,
    IncidentDelivery,
    IncidentLink,
    IncidentStatus,
)
from service.incidents.schemas import IncidentIn, IncidentOut, IncidentPage, IncidentUpdate
from service.realtime.events import IncidentDeclared
from service.settings import Settings
from service.templates import Catalog
from service.templates.matching import Entry, Matcher

log = logging.getLogger(__name__)

KIND = "incident"
STABILITY = frozenset({"stability"})
KEFU = "kefu"  # who declared an incident kefu declared by itself


@dataclass(frozen=True, slots=True)
class Declared:
    """An open incident as one process last read it (shared across units, never written)."""

    id: int
    title: str
    keywords: tuple[str, ...]
    topic: str | None
    known_issue: str
    eta_at: datetime
    batch_id: int | None

    @classmethod
    def of(cls, row: Incident) -> Declared:
        return cls(
            row.id,
            row.title,
            tuple(row.keywords),
            row.topic,
            row.known_issue,
            row.eta_at,
            row.batch_id,
        )


@dataclass(frozen=True)
class Open:
    """The open incidents as one process last read them, with their keywords indexed."""

    incidents: tuple[Declared, ...]
    matcher: Matcher | None

    def matching(self, text: str) -> Declared | None:
        """The first open incident (oldest first) whose keywords ``text`` contains."""
        if self.matcher is None:
            return None
        found = self.matcher.find(text, frozenset({KIND}))
        if not found:
            return None
        ids = {int(match.entry.phrase) for match in found}
        return next(incident for incident in self.incidents if incident.id in ids)


def index(incidents: tuple[Declared, ...]) -> Open:
    """The one matcher of every list (service/templates/matching.py), over incident keywords."""
    entries = [
        # A keyword that ends in a digit must end the number, as complaint keywords do.
        Entry(KIND, str(incident.id), word, word_end=word.rstrip()[-1:].isdigit())
        for incident in incidents
        for word in incident.keywords
    ]
    return Open(incidents, Matcher(entries) if entries else None)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def banner(incident: Declared) -> dict[str, Any]:
    """What the widget shows while the incident is open (the ``ready`` frame's ``incidents``)."""
    return {
        "id": incident.id,
        "title": incident.title,
        "text": incident.known_issue,
        "eta": iso(incident.eta_at),
    }


class Incidents:
    def __init__(self, settings: Settings, catalog: Catalog, say: Say, desk: Desk) -> None:
        self.settings = settings
        self.catalog = catalog
        self.say = say
        self.desk = desk
        self._open: Open | None = None
        self._read_at = 0.0
        self._reread_until = 0.0

    # -- the open incidents, cached per process ------------------------------------------------

    def forget(self) -> None:
        """This process declared or changed an incident: read them again at each use for a
        moment, so that a unit reading before the change committed is not what stays."""
        self._open = None
        self._reread_until = time.monotonic() + max(self.settings.incident_cache_s, 1.0)

    async def current(self, session: AsyncSession) -> Open:
        """The open incidents; another process's change is seen within KEFU_INCIDENT_CACHE_S."""
        now = time.monotonic()
        stale = now - self._read_at > self.settings.incident_cache_s or now < self._reread_until
        if self._open is None or stale:
            # Not flushed first: a batch of messages is written in one go at its end.
            with session.no_autoflush:
                rows = await session.scalars(
                    select(Incident)
                    .where(Incident.status == IncidentStatus.open)
                    .order_by(Incident.id)
                )
            self._open = index(tuple(Declared.of(row) for row in rows.all()))
            self._read_at = time.monotonic()
        return self._open

    async def ready_fields(self, work: Work) -> dict[str, Any]:
        """``incidents`` for a customer's ``ready`` while any is open (the widget's banner)."""
        shown = [banner(incident) for incident in (await self.current(work.session)).incidents]
        return {"incidents": shown} if shown else {}

    # -- declaring -----------------------------------------------------------------------------

    def _topic(self, topic: str | None) -> str | None:
        if topic is not None and topic not in self.settings.topics:
            raise UnknownTopic(
                f"unknown topic {topic!r}; one of: {', '.join(self.settings.topics)}"
            )
        return topic

    @staticmethod
    def _ahead(work: Work, eta: datetime) -> datetime:
        if eta <= work.now:  # the customers would be promised a time already gone
            raise InvalidRange("eta must be in the future")
        return eta

    async def declare(self, work: Work, data: IncidentIn, by: str) -> Incident:
        """A supervisor declares an incident (from a batch: its complaints are linked)."""
        topic = self._topic(data.topic)
        self._ahead(work, data.eta)
        if data.batch_id is not None:
            batch = await work.session.get(ComplaintBatch, data.batch_id)
            if batch is None:
                raise NotFound(f"no batch {data.batch_id}")
            taken = await work.session.scalar(
                select(Incident.id)
                .where(Incident.batch_id == batch.id, Incident.status == IncidentStatus.open)
                .limit(1)
            )
            if taken is not None:  # its customers would hear of one outage twice
                raise InvalidState(f"batch {batch.id} is already incident {taken}")
            topic = topic or batch.topic
        incident = await self._declare(
            work,
            title=data.title,
            keywords=list(dict.fromkeys(data.keywords)),
            topic=topic,
            known_issue=data.known_issue,
            eta_at=data.eta,
            batch_id=data.batch_id,
            by=by,
        )
        return incident

    async def _declare(
        self,
        work: Work,
        *,
        title: str,
        keywords: list[str],
        topic: str | None,
        known_issue: str,
        eta_at: datetime,
        batch_id: int | None,
        by: str,
    ) -> Incident:
        incident = Incident(
            title=title,
            keywords=keywords,
            topic=topic,
            known_issue=known_issue,
            eta_at=eta_at,
            status=IncidentStatus.open,
            batch_id=batch_id,
            declared_by=by,
            created_at=work.now,
            updated_at=work.now,
        )
        work.session.add(incident)
        await work.session.flush()
        if batch_id is not None:
            complaints = await work.session.scalars(
                select(Complaint).where(Complaint.batch_id == batch_id).order_by(Complaint.id)
            )
            declared = Declared.of(incident)
            for complaint in complaints:
                chat_id = complaint.chat_id
                if await self._link(work, incident.id, chat_id, "complaint", complaint.id):
                    # The reporters waiting in their chats hear that it is known, and by when.
                    await self._known_issue(work, chat_id, declared)
        await self.desk.alert(work, IncidentDeclared(incident.id, incident.title, by, batch_id))
        work.event(
            "incident.declared",
            {
                "incident_id": incident.id,
                "title": incident.title,
                "by": by,
                "batch_id": batch_id,
                "eta": iso(incident.eta_at),
                "at": iso(work.now),
            },
        )
        self.forget()
        return incident

    async def batch_grew(self, work: Work, complaint: Complaint) -> None:
        """S-classes batch, second threshold: kefu declares the incident by itself."""
        threshold = self.settings.incident_auto_customers
        if threshold == 0 or complaint.batch_id is None:
            return
        batch = await work.session.get_one(ComplaintBatch, complaint.batch_id)
        if batch.customers < threshold:
            return
        # The batch code holds the topic's lock (PostgreSQL), so two processes see one another.
        declared = await work.session.scalar(
            select(Incident.id).where(Incident.batch_id == batch.id).limit(1)
        )
        if declared is not None:
            return
        locale = self.catalog.resolve_locale(None)
        text = self.catalog.render("incident_auto", locale, topic=batch.topic)
        await self._declare(
            work,
            title=text,
            keywords=await self._outage_words(work, batch.id),
            topic=batch.topic,
            known_issue=text,
            eta_at=work.now + timedelta(minutes=self.settings.incident_auto_eta_min),
            batch_id=batch.id,
            by=KEFU,
        )

    async def _outage_words(self, work: Work, batch_id: int) -> list[str]:
        """The stability keywords (S-stability: 掉线, 登不上, …) that at least half of the
        batch's complaints use: what the next customers will write about the same outage."""
        summaries = (
            await work.session.scalars(
                select(Complaint.summary).where(Complaint.batch_id == batch_id)
            )
        ).all()
        guard = self.catalog.guard()
        uses: Counter[str] = Counter()
        for summary in summaries:
            uses.update({match.entry.phrase for match in guard.matcher.find(summary, STABILITY)})
        return sorted(word for word, n in uses.items() if 2 * n >= len(summaries))

    async def update(self, work: Work, incident_id: int, data: IncidentUpdate) -> Incident:
        incident = await self._locked(work, incident_id)
        if incident.status != IncidentStatus.open:
            raise InvalidState(f"incident {incident_id} is already {incident.status}")
        if data.title is not None:
            incident.title = data.title
        if data.keywords is not None:
            incident.keywords = list(dict.fromkeys(data.keywords))
        if data.known_issue is not None:
            incident.known_issue = data.known_issue
        if data.eta is not None:
            incident.eta_at = self._ahead(work, data.eta)
        incident.updated_at = work.now
        await work.session.flush()
        self.forget()
        return incident

    async def _locked(self, work: Work, incident_id: int) -> Incident:
        incident = await work.session.get(
            Incident, incident_id, with_for_update=work.is_postgres, populate_existing=True
        )
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        return incident

    # -- linking -------------------------------------------------------------------------------

    async def _link(
        self, work: Work, incident_id: int, chat_id: int, why: str, complaint_id: int | None
    ) -> bool:
        values = {
            "incident_id": incident_id,
            "chat_id": chat_id,
            "complaint_id": complaint_id,
            "why": why,
            "linked_at": work.now,
        }
        return await _insert_once(work, IncidentLink, values)

    async def first_message(self, work: Work, chat_id: int, seq: int, text: str) -> None:
        """A chat's first customer message stored: if it matches, the answer and the link.

        A later message that matches is not answered: the customer has been heard already.
        No statement runs unless the text matches (the open incidents are cached), so the
        group commit's batches stay batches."""
        incident = (await self.current(work.session)).matching(text)
        if incident is None:
            return
        if not await self._link(work, incident.id, chat_id, "first_message", None):
            return
        # At once, before routing: the customer knows the problem is known and by when.
        await self._known_issue(work, chat_id, incident)

    async def _known_issue(self, work: Work, chat_id: int, incident: Declared) -> None:
        chat = await work.session.get_one(Chat, chat_id)
        if chat.status == ChatStatus.closed:
            return
        await self.say(
            work,
            chat,
            "known_issue",
            notify_agent=True,
            title=incident.title,
            time=local_time(self.desk.zone, incident.eta_at),
        )

    async def complaint_recorded(self, work: Work, complaint: Complaint) -> None:
        """A new complaint: linked to the open incident it matches; a big batch declares one."""
        await self.batch_grew(work, complaint)
        for incident in (await self.current(work.session)).incidents:
            if incident.topic is not None and incident.topic != complaint.topic:
                continue
            same_batch = incident.batch_id is not None and incident.batch_id == complaint.batch_id
            if same_batch or index((incident,)).matching(complaint.summary) is not None:
                chat_id = complaint.chat_id
                if await self._link(work, incident.id, chat_id, "complaint", complaint.id):
                    await self._known_issue(work, chat_id, incident)  # told once per chat
                return

    # -- resolving -----------------------------------------------------------------------------

    async def resolve(self, work: Work, incident_id: int, resolution: str, by: str) -> Incident:
        """Resolved once; every linked customer still reachable is told exactly once."""
        incident = await self._locked(work, incident_id)
        if incident.status == IncidentStatus.resolved:
            return incident  # a second call (or a racing process) changes nothing
        incident.status = IncidentStatus.resolved
        incident.resolved_at = work.now
        incident.resolved_by = by
        incident.resolution = resolution
        incident.updated_at = work.now
        await work.session.flush()
        rows = await work.session.execute(
            select(Chat, Callback.id)
            .join(IncidentLink, IncidentLink.chat_id == Chat.id)
            .outerjoin(Callback, Callback.chat_id == Chat.id)
            .where(IncidentLink.incident_id == incident.id)
            .order_by(Chat.id)
        )
        delivered = 0
        for chat, callback_id in rows.all():
            if chat.status != ChatStatus.closed:
                way = "message"
            elif callback_id is not None:
                way = "callback"  # left a contact: marked for the callback with the resolution
            else:
                continue  # gone without a contact: nobody to tell
            values = {
                "incident_id": incident.id,
                "chat_id": chat.id,
                "way": way,
                "callback_id": callback_id,
                "at": work.now,
            }
            if not await _insert_once(work, IncidentDelivery, values):
                continue
            delivered += 1
            if way == "callback":
                callback = await work.session.get_one(Callback, callback_id)
                callback.follow_up = resolution  # the caller passes it on
            else:
                await self.say(
                    work,
                    chat,
                    "incident_resolved",
                    notify_agent=True,
                    title=incident.title,
                    resolution=resolution,
                )
        work.event(
            "incident.resolved",
            {"incident_id": incident.id, "by": by, "delivered": delivered, "at": iso(work.now)},
        )
        self.forget()
        return incident

    # -- reading -------------------------------------------------------------------------------

    async def out(self, session: AsyncSession, incident: Incident) -> IncidentOut:
        linked = await session.scalar(
            select(func.count())
            .select_from(IncidentLink)
            .where(IncidentLink.incident_id == incident.id)
        )
        delivered = await session.scalar(
            select(func.count())
            .select_from(IncidentDelivery)
            .where(IncidentDelivery.incident_id == incident.id)
        )
        return IncidentOut(
            id=incident.id,
            title=incident.title,
            keywords=list(incident.keywords),
            topic=incident.topic,
            known_issue=incident.known_issue,
            eta=incident.eta_at,
            status=incident.status,
            batch_id=incident.batch_id,
            declared_by=incident.declared_by,
            created_at=incident.created_at,
            updated_at=incident.updated_at,
            resolved_at=incident.resolved_at,
            resolved_by=incident.resolved_by,
            resolution=incident.resolution,
            linked_chats=linked or 0,
            delivered=delivered or 0,
        )

    async def get(self, session: AsyncSession, incident_id: int) -> IncidentOut:
        incident = await session.get(Incident, incident_id, populate_existing=True)
        if incident is None:
            raise NotFound(f"no incident {incident_id}")
        return await self.out(session, incident)

    async def page(
        self, session: AsyncSession, *, status: str | None, limit: int, offset: int
    ) -> IncidentPage:
        query = select(Incident)
        if status is not None:
            query = query.where(Incident.status == status)
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.scalars(query.order_by(Incident.id.desc()).limit(limit).offset(offset))
        items = [await self.out(session, incident) for incident in rows.all()]
        return IncidentPage(items=items, total=total or 0)


async def _insert_once(work: Work, model: Any, values: dict[str, Any]) -> bool:
    """Insert the row unless its key is taken (by this unit, an earlier one, or a race)."""
    dialect = postgresql if work.is_postgres else sqlite
    table = model.__table__
    statement = (
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(table.c.incident_id)
    )
    await work.session.flush()
    inserted = (await work.session.execute(statement)).first()
    return inserted is not None

"""The complaint use cases: the ways in (agent, customer, keyword draft), the staff's moves, the
follow-up, the customer flags, and the overdue timer.

Each method runs inside the caller's unit of work: it changes rows, records history, arms the
deadline timer and records the frames to send; the unit commits (STYLE 14).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import select

from service.chats.routing import agent_address
from service.chats.timing import Say
from service.complaints import alerts
from service.complaints.models import Complaint
from service.complaints.queries import load_card
from service.complaints.recording import COMPLAINT_DUE, SYSTEM, Opened, Recorder
from service.complaints.schemas import ComplaintUpdate, FollowUpIn, facts_adapter
from service.complaints.survey import Survey
from service.complaints.workflow import (
    ANSWER_PENDING,
    FINISHED,
    MOVES,
    NEEDS_OWNER_WHEN_URGENT,
    RECORDED,
    FollowUpResult,
    Reason,
    Source,
    Status,
)
from service.customers.schemas import CustomerUpdate
from service.customers.service import change, is_vip
from service.db.models import Agent, AgentRole, Chat, Customer, Timer
from service.db.unit_of_work import Work
from service.errors import (
    BadFrame,
    FollowUpRequired,
    InvalidState,
    NotFound,
    NotYourChat,
    OwnerRequired,
    TextTooLong,
    UnknownAgent,
)
from service.realtime.protocol import ComplaintFrame
from service.settings import Settings
from service.templates import Catalog
from service.timers import Scheduler

ACTIVE = RECORDED - FINISHED


def parse_facts(facts: dict[str, Any] | None) -> dict[str, Any]:
    try:
        return facts_adapter.validate_python(facts or {})
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(part) for part in ("facts", *first["loc"][:1]))
        raise BadFrame(f"{where}: {first['msg']}") from exc


class ComplaintService:
    def __init__(
        self, settings: Settings, catalog: Catalog, scheduler: Scheduler, say: Say
    ) -> None:
        self.settings = settings
        self.catalog = catalog
        self.recorder = Recorder(settings, say)
        self.survey = Survey(settings, self.recorder)
        scheduler.register(COMPLAINT_DUE, self._due)

    # -- ways in -------------------------------------------------------------------------------

    async def agent_complaint(self, work: Work, agent_id: int, frame: ComplaintFrame) -> Complaint:
        """S-record: the agent files a complaint for a chat they hold or held (or a supervisor).

        A keyword draft of that chat becomes this complaint instead of a second row.
        """
        agent, chat = await self._agent_chat(work, agent_id, frame.chat_id)
        topic = self.recorder.topic(frame.topic)
        self._check_length(frame.summary)
        facts = parse_facts(frame.facts)
        actor = f"agent:{agent.id}"
        complaint = await self._draft_of(work, chat.id)
        if complaint is None:
            complaint = self._new(work, chat, Source.agent, Status.open, topic, frame.summary)
            complaint.facts = facts
            complaint.agent_id = agent.id
        else:
            self._edit(work, complaint, actor, topic=topic, summary=frame.summary)
            self._edit(work, complaint, actor, facts={**complaint.facts, **facts})
            complaint.agent_id = agent.id
        opened = await self.recorder.open(work, complaint, actor)
        await self.recorder.acknowledge(work, complaint)
        await self.recorder.announce(work, opened, self._agents_of(chat, agent))
        return complaint

    async def customer_complain(self, work: Work, chat_id: int, topic: str, text: str) -> None:
        """The customer's own complaint; repeated on the same topic, it adds to the open one."""
        chat = await work.session.get_one(Chat, chat_id)
        topic = self.recorder.topic(topic)
        self._check_length(text)
        existing = await work.session.scalar(
            select(Complaint)
            .where(
                Complaint.chat_id == chat.id,
                Complaint.topic == topic,
                Complaint.status.in_(ACTIVE),
            )
            .order_by(Complaint.id)
            .limit(1)
        )
        to = self._agents_of(chat)
        if existing is not None:
            self.recorder.event(work, existing, "customer", "comment", comment=text)
            await self.recorder.acknowledge(work, existing)
            card = await load_card(work.session, existing, work.now)
            work.send(to, alerts.complaint_frame("updated", card))
            return
        complaint = await self._draft_of(work, chat.id)
        if complaint is None:
            complaint = self._new(work, chat, Source.customer, Status.open, topic, text)
        else:
            # The customer's own words confirm the draft: it becomes their complaint.
            self._edit(
                work, complaint, "customer", topic=topic, summary=text, source=Source.customer
            )
        opened = await self.recorder.open(work, complaint, "customer")
        await self.recorder.acknowledge(work, complaint)
        await self.recorder.announce(work, opened, to)

    async def scan_message(self, work: Work, chat_id: int, seq: int, text: str) -> None:
        """A complaint keyword in a customer message opens a draft for the agent, once per chat."""
        keyword = self.catalog.guard().spot(text, "complaint")
        if keyword is None:
            return
        chat = await work.session.get_one(Chat, chat_id)
        if await self.recorder.chat_complaints(work, chat.id):
            return
        topic = self.settings.complaint_default_topic
        complaint = self._new(work, chat, Source.keyword, Status.draft, topic, text)
        complaint.facts = {"keyword": keyword}
        complaint.message_seq = seq
        await work.session.flush()
        self.recorder.event(work, complaint, SYSTEM, "recorded", None, Status.draft, keyword)
        card = await load_card(work.session, complaint, work.now)
        work.send(self._agents_of(chat), alerts.complaint_frame("draft", card))

    async def dismiss_draft(
        self, work: Work, agent_id: int, complaint_id: int, comment: str | None
    ) -> None:
        complaint = await work.session.get(Complaint, complaint_id)
        if complaint is None:
            raise NotYourChat(f"complaint {complaint_id} is not on a chat of yours")
        agent, chat = await self._agent_chat(work, agent_id, complaint.chat_id)
        if complaint.status != Status.draft:
            raise InvalidState(f"only a draft can be dismissed; this one is {complaint.status}")
        await self._move(work, complaint, Status.dismissed, f"agent:{agent.id}", comment)
        card = await load_card(work.session, complaint, work.now)
        work.send(self._agents_of(chat, agent), alerts.complaint_frame("dismissed", card))

    # -- the desk ------------------------------------------------------------------------------

    async def update(
        self, work: Work, complaint_id: int, patch: ComplaintUpdate, actor: str
    ) -> Complaint:
        """Apply a staff change as a whole; any refusal leaves the row as it was."""
        complaint = await self._locked(work, complaint_id)
        changed = patch.model_fields_set
        if patch.status is not None and patch.status != complaint.status:
            self._check_move(Status(complaint.status), Status(patch.status))
        edits: dict[str, Any] = {}
        if patch.topic is not None:
            edits["topic"] = self.recorder.topic(patch.topic)
        if patch.summary is not None:
            edits["summary"] = patch.summary
        if patch.facts is not None:
            edits["facts"] = patch.facts
        edits = {name: v for name, v in edits.items() if getattr(complaint, name) != v}
        new_owner = "owner_id" in changed and patch.owner_id != complaint.owner_id
        frozen = edits or new_owner or patch.add_reasons or patch.remove_reasons
        if frozen and complaint.status in FINISHED:
            # A finished row is the record: only comments are added to it.
            raise InvalidState(f"a {complaint.status} complaint cannot be changed, only commented")
        self._edit(work, complaint, actor, **edits)
        if "owner_id" in changed:
            await self._owner(work, complaint, patch.owner_id, actor)
        for reason in patch.add_reasons:
            await self.recorder.add_reason(work, complaint, Reason(reason), actor)
        for removed in patch.remove_reasons:
            await self.recorder.remove_reason(work, complaint, removed, actor)
        if patch.comment is not None:
            self.recorder.event(work, complaint, actor, "comment", comment=patch.comment)
        if patch.status is not None and patch.status != complaint.status:
            await self._move(work, complaint, Status(patch.status), actor, None)
        await self.recorder.refresh(work, complaint)
        if changed & {"status", "owner_id", "add_reasons", "remove_reasons"}:
            self._check_owner(complaint)
        return complaint

    async def record_follow_up(
        self, work: Work, complaint_id: int, data: FollowUpIn, actor: str
    ) -> Complaint:
        """S-follow-up: the result of contacting the customer; an unreachable one stays due."""
        complaint = await self._locked(work, complaint_id)
        if complaint.status != Status.resolved:
            raise InvalidState(
                f"a follow-up is recorded on a resolved complaint; this one is {complaint.status}",
                **{"from": complaint.status, "to": Status.followed_up},
            )
        self.recorder.event(work, complaint, actor, "follow_up", None, data.result, data.note)
        if data.result != FollowUpResult.unreachable:
            self.recorder.event(work, complaint, actor, "status", complaint.status, "followed_up")
            complaint.status = Status.followed_up
            complaint.followed_up_at = work.now
            complaint.follow_up_result = data.result
        await self.recorder.refresh(work, complaint)
        self._check_owner(complaint)
        return complaint

    async def update_customer(
        self, work: Work, customer_id: int, data: CustomerUpdate, actor: str
    ) -> Customer:
        """Tier and sensitive flag; the customer's open complaints gain the reasons they imply."""
        customer = await work.session.get(Customer, customer_id)
        if customer is None:
            raise NotFound(f"no customer {customer_id}")
        change(customer, data, work.now)
        reasons = []
        if is_vip(customer, self.settings):
            reasons.append(Reason.important_customer)
        if customer.sensitive:
            reasons.append(Reason.sensitive_customer)
        if reasons:
            active = await work.session.scalars(
                select(Complaint).where(
                    Complaint.customer_id == customer.id, Complaint.status.in_(ACTIVE)
                )
            )
            for complaint in active.all():
                for reason in reasons:
                    await self.recorder.add_reason(work, complaint, reason, actor)
                await self.recorder.refresh(work, complaint)
        await work.session.flush()
        return customer

    async def hand_over(
        self, work: Work, complaint: Complaint, to_id: int, actor: str, note: str
    ) -> None:
        """S-follow-up: an unfinished complaint passes to the next shift, in its history."""
        await self._owner(work, complaint, to_id, actor)
        self.recorder.event(work, complaint, actor, "comment", comment=note)
        complaint.updated_at = work.now
        await work.session.flush()
        card = await load_card(work.session, complaint, work.now)
        work.send(agent_address(to_id), alerts.complaint_frame("updated", card))

    # -- deadlines -----------------------------------------------------------------------------

    async def _due(self, work: Work, timer: Timer) -> None:
        """S-complaint-48h / S-unsatisfied-7d missed: supervisors and the owner are told once."""
        complaint = await work.session.get(Complaint, timer.payload["complaint_id"])
        if complaint is None or complaint.due_at is None or complaint.due_at > work.now:
            return
        if complaint.alerted_due_at == complaint.due_at:
            return
        complaint.alerted_due_at = complaint.due_at
        self.recorder.event(work, complaint, SYSTEM, "overdue", None, complaint.due_at)
        card = await load_card(work.session, complaint, work.now)
        to = await alerts.supervisors(work)
        if complaint.owner_id is not None:
            to.append(agent_address(complaint.owner_id))
        work.send(dict.fromkeys(to), alerts.complaint_frame("overdue", card))

    # -- helpers -------------------------------------------------------------------------------

    def _new(
        self, work: Work, chat: Chat, source: Source, status: Status, topic: str, summary: str
    ) -> Complaint:
        complaint = Complaint(
            chat_id=chat.id,
            customer_id=chat.customer_id,
            agent_id=chat.agent_id,
            topic=topic,
            summary=summary,
            facts={},
            source=source,
            status=status,
            urgent=False,
            message_seq=chat.last_seq,
            created_at=work.now,
            updated_at=work.now,
        )
        work.session.add(complaint)
        return complaint

    def _edit(self, work: Work, complaint: Complaint, actor: str, **values: Any) -> None:
        for name, value in values.items():
            before = getattr(complaint, name)
            if before != value:
                self.recorder.event(work, complaint, actor, name, before, value)
                setattr(complaint, name, value)

    async def _owner(
        self, work: Work, complaint: Complaint, owner_id: int | None, actor: str
    ) -> None:
        if owner_id is not None:
            owner = await work.session.get(Agent, owner_id)
            if owner is None or not owner.active:
                raise UnknownAgent(f"no active agent {owner_id} to own the complaint")
        if complaint.owner_id != owner_id:
            self.recorder.event(work, complaint, actor, "owner", complaint.owner_id, owner_id)
            complaint.owner_id = owner_id

    def _check_move(self, source: Status, target: Status) -> None:
        if target == Status.followed_up and source == Status.resolved:
            raise FollowUpRequired(
                "record the follow-up result with POST /api/v1/complaints/{id}/follow-up",
                **{"from": source, "to": target},
            )
        if target == Status.closed and source in ANSWER_PENDING | {Status.resolved}:
            raise FollowUpRequired(
                "a complaint closes only after its follow-up is recorded (S-follow-up)",
                **{"from": source, "to": target},
            )
        if target not in MOVES[source]:
            raise InvalidState(
                f"a complaint cannot move from {source} to {target}",
                **{"from": source, "to": target, "allowed": sorted(MOVES[source])},
            )

    async def _move(
        self, work: Work, complaint: Complaint, target: Status, actor: str, comment: str | None
    ) -> Opened | None:
        source = Status(complaint.status)
        self._check_move(source, target)
        if target == Status.open:
            opened = await self.recorder.open(work, complaint, actor)
            await self.recorder.acknowledge(work, complaint)
            chat = await work.session.get_one(Chat, complaint.chat_id)
            await self.recorder.announce(work, opened, self._agents_of(chat))
            return opened
        self.recorder.event(work, complaint, actor, "status", source, target, comment)
        complaint.status = target
        if target == Status.escalated:
            # 升级: handed upward, which is itself an urgent reason (S-classes).
            await self.recorder.add_reason(work, complaint, Reason.escalated, actor)
        elif target == Status.resolved:
            self.recorder.resolved(work, complaint)
        elif target == Status.closed:
            complaint.closed_at = work.now
        return None

    def _check_owner(self, complaint: Complaint) -> None:
        if (
            complaint.urgent
            and complaint.status in NEEDS_OWNER_WHEN_URGENT
            and complaint.owner_id is None
        ):
            raise OwnerRequired(
                "an urgent complaint needs an owner (owner_id) before it moves on (S-classes)"
            )

    async def _locked(self, work: Work, complaint_id: int) -> Complaint:
        query = select(Complaint).where(Complaint.id == complaint_id)
        if work.is_postgres:
            query = query.with_for_update()
        complaint = await work.session.scalar(query)
        if complaint is None:
            raise NotFound(f"no complaint {complaint_id}")
        return complaint

    async def _draft_of(self, work: Work, chat_id: int) -> Complaint | None:
        return await work.session.scalar(
            select(Complaint)
            .where(Complaint.chat_id == chat_id, Complaint.status == Status.draft)
            .limit(1)
        )

    async def _agent_chat(self, work: Work, agent_id: int, chat_id: int) -> tuple[Agent, Chat]:
        agent = await work.session.get_one(Agent, agent_id)
        chat = await work.session.get(Chat, chat_id)
        # S-privacy: the same answer whether the chat is someone else's or does not exist.
        if chat is None or (chat.agent_id != agent.id and agent.role != AgentRole.supervisor):
            raise NotYourChat(f"chat {chat_id} is not one of yours")
        return agent, chat

    def _agents_of(self, chat: Chat, *also: Agent) -> list[str]:
        to = [agent_address(chat.agent_id)] if chat.agent_id is not None else []
        to.extend(agent_address(agent.id) for agent in also)
        return list(dict.fromkeys(to))

    def _check_length(self, text: str) -> None:
        if len(text) > self.settings.max_text:
            raise TextTooLong(f"text over {self.settings.max_text} characters")

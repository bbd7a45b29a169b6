"""Satisfaction (S-survey, S-satisfaction): the survey at the end of a chat and the rating.

A chat can be rated once, 0–10, after it closes, or while open once the survey has been
offered in it. A score of 0–4 gets the S-unsatisfied answer and opens a follow-up row in the
notification table, due within a week (S-unsatisfied-7d).
"""

from __future__ import annotations

from sqlalchemy import select

from service.chats.routing import customer_address
from service.complaints.models import Complaint, Rating
from service.complaints.recording import Recorder
from service.complaints.workflow import Band, Source, Status, band
from service.db.models import Chat, ChatStatus, Message
from service.db.unit_of_work import Work
from service.errors import AlreadyRated, InvalidState
from service.realtime.events import Rated
from service.settings import Settings

SURVEY = "survey"
# The survey follows the closing template only when someone ended the chat deliberately.
SURVEY_AFTER = frozenset({"agent", "customer"})


class Survey:
    def __init__(self, settings: Settings, recorder: Recorder) -> None:
        self.settings = settings
        self.recorder = recorder

    async def chat_closing(self, work: Work, chat: Chat, by: str) -> None:
        """Called by the chat service as a chat closes, before ``closed`` goes out."""
        if (
            self.settings.survey_on_close
            and by in SURVEY_AFTER
            and chat.agent_id is not None
            and not await self._offered(work, chat.id)
        ):
            await self.recorder.template(work, chat.id, SURVEY)

    async def rate(self, work: Work, chat_id: int, score: int, comment: str | None) -> Rating:
        chat = await work.session.get_one(Chat, chat_id)
        if chat.agent_id is None:
            raise InvalidState("no agent served this chat; there is nothing to rate")
        if chat.status != ChatStatus.closed and not await self._offered(work, chat.id):
            raise InvalidState("a chat is rated after it closes, or once the survey is offered")
        taken = await work.session.scalar(select(Rating.id).where(Rating.chat_id == chat.id))
        if taken is not None:
            raise AlreadyRated("this chat has been rated already")
        rating = Rating(
            chat_id=chat.id,
            customer_id=chat.customer_id,
            agent_id=chat.agent_id,
            score=score,
            band=band(score),
            comment=comment,
            created_at=work.now,
        )
        work.session.add(rating)
        await work.session.flush()
        work.send(
            customer_address(chat.id),
            Rated(chat.id, score, rating.band),
        )
        if rating.band == Band.unsatisfied:
            await self.recorder.template(work, chat.id, "unsatisfied")
            await self._follow_up(work, chat, rating)
        return rating

    async def _follow_up(self, work: Work, chat: Chat, rating: Rating) -> None:
        """S-unsatisfied-7d: a row for the quality supervisors, due within the week."""
        facts: dict[str, object] = {"score": rating.score}
        if rating.comment:
            facts["comment"] = rating.comment
        complaint = Complaint(
            chat_id=chat.id,
            customer_id=chat.customer_id,
            agent_id=chat.agent_id,
            topic=self.settings.complaint_survey_topic,
            summary=f"unsatisfied survey: {rating.score}/10",
            facts=facts,
            source=Source.survey,
            status=Status.open,
            urgent=False,
            message_seq=chat.last_seq,
            created_at=work.now,
            updated_at=work.now,
        )
        opened = await self.recorder.open(work, complaint, "customer")
        await self.recorder.announce(work, opened, [])

    async def _offered(self, work: Work, chat_id: int) -> bool:
        found = await work.session.scalar(
            select(Message.id)
            .where(Message.chat_id == chat_id, Message.template == SURVEY)
            .limit(1)
        )
        return found is not None

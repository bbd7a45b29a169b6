"""Conduct: the service standard applied to what agents and customers write.

- S-forbidden-phrases: every agent text bound for a customer is screened before it is stored;
  ``block`` refuses it, ``warn`` lets it through; either way the hit is recorded per agent.
- Quick replies (``template``), internal notes (``note``), corrections (S-correction). Each
  returns the ``seq`` to acknowledge (the first copy's, for a resent ``client_id``).
- Suggestions: a customer message that matches the slow-reply or stability keywords tells the
  agent which standard answer fits (S-slow-reply, S-stability).
- S-abuse: abusive language gets the warning once; more of it ends the chat and flags the
  customer. An agent may end a chat as abusive too, after the warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

from sqlalchemy import select

from service.chats import machine, routing
from service.chats.frames import message_frame
from service.chats.machine import Conversation
from service.chats.repository import chat_of
from service.chats.routing import agent_address
from service.chats.rows import write
from service.chats.store import append, check_length, find_resend
from service.chats.timing import Timing
from service.db import new_messages
from service.db.models import Agent, Chat, Message, PhraseHit, Sender
from service.db.unit_of_work import Work
from service.errors import (
    ForbiddenPhraseUsed,
    InvalidState,
    InvalidTemplate,
    NotYourMessage,
    UnknownTemplate,
)
from service.promises.rules import KIND_OF_TEMPLATE
from service.realtime import events
from service.settings import Settings
from service.templates import TEMPLATE_VARIABLES, Catalog, Hit, MissingVariable
from service.templates.service import AUTOMATIC, QUICK_REPLIES, Templates

SUGGESTED = ("slow_reply", "stability")  # keyword list = template key


class Refused(ForbiddenPhraseUsed):
    """A refused agent text; the gateway records the hit after the unit has rolled back."""

    def __init__(self, hit: Hit, agent_id: int, chat_id: int) -> None:
        super().__init__(
            f"the text contains the taboo phrase {hit.phrase!r}; say instead: {hit.replacement}",
            phrase=hit.phrase,
            suggestion=hit.replacement,
        )
        self.hit = hit
        self.agent_id = agent_id
        self.chat_id = chat_id


class Conduct:
    def __init__(
        self, settings: Settings, catalog: Catalog, templates: Templates, timing: Timing
    ) -> None:
        self.max_text = settings.max_text
        self.mode = settings.forbidden_mode
        self.catalog = catalog
        self.guard = templates.guard
        self.templates = templates
        self.timing = timing

    # -- S-forbidden-phrases -----------------------------------------------------------------

    def screen(self, chat: Chat, agent_id: int, text: str) -> Hit | None:
        """Raise ``Refused`` in block mode; in warn mode return the hit to record."""
        hit = self.guard.screen(text, chat.locale)
        if hit is not None and self.mode == "block":
            raise Refused(hit, agent_id, chat.id)
        return hit

    async def record(
        self, work: Work, agent_id: int, chat_id: int, hit: Hit, message: Message | None
    ) -> None:
        # Added once the message has its id (service/db/new_messages.py).
        new_messages.then(
            work.session,
            lambda: PhraseHit(
                agent_id=agent_id,
                chat_id=chat_id,
                message_id=None if message is None else message.id,
                phrase=hit.phrase,
                locale=hit.locale,
                blocked=message is None,
                created_at=work.now,
            ),
        )

    async def record_refusal(self, work: Work, refused: Refused) -> None:
        await self.record(work, refused.agent_id, refused.chat_id, refused.hit, None)

    # -- agent frames --------------------------------------------------------------------------

    async def send_template(
        self,
        work: Work,
        agent_id: int,
        chat_id: int,
        key: str,
        values: Mapping[str, str] | None,
        client_id: str | None,
    ) -> int | None:
        """A quick reply: the template in the chat's locale, said by the agent."""
        if (resent := await self._resent(work, agent_id, chat_id, client_id)) is not None:
            return resent
        chat = await chat_of(work, agent_id, chat_id)
        if key not in QUICK_REPLIES:
            raise UnknownTemplate(f"{key!r} is not a quick reply; see ready.templates")
        if key in KIND_OF_TEMPLATE:
            # S-callback-24h: a promised time is structured and checked, never free text.
            raise InvalidTemplate(
                f"{key!r} promises a time: send a promise frame"
                f' {{"type":"promise","kind":"{KIND_OF_TEMPLATE[key]}","due_at":…}}'
            )
        message = await self.say(work, agent_id, chat, key, values, client_id)
        return message.seq

    async def say(
        self,
        work: Work,
        agent_id: int,
        chat: Chat,
        key: str,
        values: Mapping[str, str] | None,
        client_id: str | None,
    ) -> Message:
        """The template ``key`` rendered and screened, stored as the agent's line, and sent."""
        given = dict(values or {})
        if unknown := sorted(given.keys() - (TEMPLATE_VARIABLES[key] - AUTOMATIC)):
            raise InvalidTemplate(f"template {key!r} takes no variable {unknown[0]!r}")
        agent = await work.session.get_one(Agent, agent_id)
        try:
            text = await self.templates.render(
                work.session,
                key,
                chat.locale,
                **given,
                agent_name=agent.name,
                employee_no=agent.employee_no,
            )
        except MissingVariable as exc:
            raise InvalidTemplate(str(exc)) from None
        check_length(text, self.max_text)
        hit = self.screen(chat, agent_id, text)
        message = await append(
            work, chat.id, Sender.agent, text, agent_id=agent_id, client_id=client_id, template=key
        )
        if hit is not None:
            await self.record(work, agent_id, chat.id, hit, message)
        if key == "abuse_warning":
            write(chat, machine.abuse_warned(Conversation.of(chat), work.now))
        work.send(routing.audience(chat), partial(message_frame, message, agent))
        return message

    async def note(
        self, work: Work, agent_id: int, chat_id: int, text: str, client_id: str | None
    ) -> int | None:
        """An internal note: stored in the chat, shown to agents only (S-privacy)."""
        check_length(text, self.max_text)
        if (resent := await self._resent(work, agent_id, chat_id, client_id)) is not None:
            return resent
        chat = await chat_of(work, agent_id, chat_id)
        agent = await work.session.get_one(Agent, agent_id)
        message = await append(
            work,
            chat.id,
            Sender.agent,
            text,
            agent_id=agent_id,
            client_id=client_id,
            internal=True,
            kind="note",
        )
        # Agent addresses only: the customer's sockets never get it, and their gap fill skips it.
        work.send(agent_address(agent_id), partial(message_frame, message, agent))
        return message.seq

    async def correct(
        self, work: Work, agent_id: int, chat_id: int, seq: int, text: str, client_id: str | None
    ) -> int | None:
        """S-correction: the apology, then the right text; the wrong one stays in the record."""
        check_length(text, self.max_text)
        if (resent := await self._resent(work, agent_id, chat_id, client_id)) is not None:
            return resent
        chat = await chat_of(work, agent_id, chat_id)
        wrong = await work.session.scalar(
            select(Message).where(Message.chat_id == chat.id, Message.seq == seq)
        )
        if (
            wrong is None
            or wrong.sender != Sender.agent
            or wrong.agent_id != agent_id
            or wrong.internal
        ):
            raise NotYourMessage(f"message {seq} of chat {chat.id} is not one you sent")
        hit = self.screen(chat, agent_id, text)
        agent = await work.session.get_one(Agent, agent_id)
        audience = routing.audience(chat)
        apology_text = await self.templates.render(work.session, "correction", chat.locale)
        apology = await append(
            work, chat.id, Sender.agent, apology_text, agent_id=agent_id, template="correction"
        )
        work.send(audience, partial(message_frame, apology, agent))
        fixed = await append(
            work, chat.id, Sender.agent, text, agent_id=agent_id, client_id=client_id, corrects=seq
        )
        if hit is not None:
            await self.record(work, agent_id, chat.id, hit, fixed)
        work.send(audience, partial(message_frame, fixed, agent))
        return fixed.seq

    async def close_abusive(self, work: Work, agent_id: int, chat_id: int) -> None:
        """S-abuse, S-customer-ends: only an abusive customer may be cut off, after a warning."""
        chat = await chat_of(work, agent_id, chat_id)
        try:
            effects = machine.cut_off(Conversation.of(chat))
        except machine.Refused as exc:
            raise InvalidState(str(exc)) from None
        await self.timing.apply(work, chat, effects)

    # -- customer messages ---------------------------------------------------------------------

    def is_abusive(self, text: str) -> bool:
        return self.guard.spot(text, "abuse") is not None

    async def customer_said(self, work: Work, chat: Chat, message: Message) -> None:
        """After a customer message is stored: the abuse rule, then suggestions for the agent."""
        if self.is_abusive(message.text):
            effects = machine.customer_abusive(Conversation.of(chat), work.now)
            await self.timing.apply(work, chat, effects)
            return
        if chat.agent_id is None:
            return
        for key in SUGGESTED:
            if self.guard.spot(message.text, key) is not None:
                text = await self.templates.render(work.session, key, chat.locale)
                work.send(
                    agent_address(chat.agent_id),
                    events.Suggest(chat.id, message.seq, key, self.catalog.standard(key), text),
                )

    # -- helpers -------------------------------------------------------------------------------

    async def _resent(
        self, work: Work, agent_id: int, chat_id: int, client_id: str | None
    ) -> int | None:
        """The seq already stored under this client_id (acknowledged again), if any."""
        if client_id is None:
            return None
        return await find_resend(work, chat_id, Sender.agent, agent_id, client_id)

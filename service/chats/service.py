"""The chat use cases: every state change of a chat goes through one method here.

Each method runs inside a unit of work (``Work``): it changes rows, arms or cancels timers and
records frames to send; the caller commits and the frames go out only after the commit.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import select

from service.agents.service import authenticate
from service.attachments.store import claim
from service.chats import machine, routing
from service.chats.conduct import Conduct
from service.chats.frames import agent_card, chat_summary, message_frame, read_state
from service.chats.machine import Conversation
from service.chats.presence import AGENT, CUSTOMER, Presence
from service.chats.repository import chat_of, chats_of, locked_chat, open_chat
from service.chats.routing import agent_address, customer_address
from service.chats.rows import write
from service.chats.store import append, check_length, find_resend, frames_after, touches
from service.chats.timing import Timing
from service.db import direct
from service.db.group_commit import Step, Touches
from service.db.models import Agent, AgentStatus, Chat, ChatStatus, Customer, Sender, Timer
from service.db.unit_of_work import Units, Work
from service.desk.service import Desk, serving
from service.errors import Forbidden
from service.groups.service import find as find_group
from service.logtext import shown
from service.realtime import events
from service.realtime.protocol import AgentHello, CustomerHello, PlayerClaim
from service.security import address_key, hash_token, new_token, resume_expired, verify_player
from service.settings import Settings
from service.templates import Catalog
from service.templates.service import Templates
from service.timers import Scheduler, arm, cancel
from service.tokens.signatures import spend

log = logging.getLogger(__name__)
# A new chat's first message is its welcome (S-welcome).
WELCOME_SEQ = 1

AGENT_GONE = "agent_gone"
CUSTOMER_GONE = "customer_gone"

# Runs as a chat closes, after its closing template and before ``closed`` goes out (the survey).
ClosingHook = Callable[[Work, Chat, str], Awaitable[None]]
# Runs after a customer's message is stored (not a resend): (work, chat id, seq, text); the
# complaint keywords (S-record).
MessageHook = Callable[[Work, int, int, str], Awaitable[None]]
# Extra fields of a customer's ``ready`` frame, read in the hello's unit.
ReadyHook = Callable[[Work], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Attached:
    """A customer socket bound to a chat: what the gateway needs to greet it."""

    chat_id: int
    resume_token: str
    after_seq: int
    state: dict[str, Any]
    closed_by: str | None


@dataclass(frozen=True)
class Opened:
    """A hello's chat, and the unit that opened it: the frames it sent, built once committed
    (``work.frames_to``), go straight to the new socket."""

    attached: Attached
    work: Work


@dataclass(frozen=True)
class Ack:
    client_id: str
    seq: int
    duplicate: bool


class ChatService:
    def __init__(self, settings: Settings, catalog: Catalog, scheduler: Scheduler, units: Units):
        self.settings = settings
        self.catalog = catalog
        self.units = units
        self.closing_hooks: list[ClosingHook] = []
        self.message_hooks: list[MessageHook] = []
        # Run after the chat's first customer message only (surge mode's known-issue answer).
        self.first_message_hooks: list[MessageHook] = []
        # Add fields to a customer's ``ready`` (surge mode: the open incidents' banner).
        self.ready_hooks: list[ReadyHook] = []
        self.guard = catalog.guard()
        self.templates = Templates(
            catalog, self.guard, settings.brand, cache_s=settings.template_cache_s
        )
        self.desk = Desk(settings, self._template)
        self.presence = Presence(settings.process_heartbeat_s, settings.process_ttl_s)
        self.presence.on_rejoined.append(self._rejoined)
        scheduler.register(AGENT_GONE, self._agent_gone)
        scheduler.register(CUSTOMER_GONE, self._customer_gone)
        self.timing = Timing(settings, scheduler, units, say=self._template, close=self._close)
        self.conduct = Conduct(settings, catalog, self.templates, self.timing)

    # -- customer side -------------------------------------------------------------------------

    async def customer_hello(self, work: Work, hello: CustomerHello, address: str = "") -> Attached:
        if hello.resume is not None:
            return await self._resume(work, hello)
        customer = await self._customer(work, hello, address)
        group_id = None
        if hello.group is not None:
            group = await find_group(work.session, hello.group)
            group_id = group.id if group is not None else None
            if group is None:
                log.warning("chat.unknown_group group=%s", shown(hello.group))
        token = new_token("kfr")
        chat = await direct.insert(
            work.session,
            Chat,
            group_id=group_id,
            customer_id=customer.id,
            status=ChatStatus.queued,
            locale=self.catalog.resolve_locale(hello.locale),
            priority=0,
            # In line for an agent from now (route_on=hello) or from the first message.
            queued_at=work.now if self.settings.route_on == "hello" else None,
            # The welcome's (below): written with the row, no second statement to take it.
            last_seq=WELCOME_SEQ,
            resume_token_hash=hash_token(token),
            customer_sockets=1,
            created_at=work.now,
        )
        await self.presence.customer_joined(work, chat)
        # S-welcome: answered at once, before any agent is free.
        await self._say(work, chat, "welcome", seq=WELCOME_SEQ)
        if self.settings.route_on == "hello":
            await routing.route(work, chat)
            await self.desk.tell_if_nobody_serves(work, [chat])
            state = await self._state(work, chat)
        else:
            # Not in line until the customer writes: neither count depends on this unit.
            serving, line = await self.desk.serving_and_line(work, chat.group_id)
            await self.desk.tell_if_nobody_serves(work, [chat], {chat.group_id: serving})
            state = await self._state(work, chat, line=line)
        return Attached(chat.id, token, 0, state, None)

    def customer_hello_step(self, hello: CustomerHello, address: str = "") -> Step[Opened]:
        """A customer's hello as a step for a unit of its own (service/api/customer_ws.py).
        ``address``: where the socket came from (a guest's, for counting people)."""

        async def open_(work: Work) -> Opened:
            return Opened(await self.customer_hello(work, hello, address), work)

        return open_

    def _verify(self, player: PlayerClaim, now: datetime) -> None:
        verify_player(
            self.settings.player_secret,
            player_id=player.id,
            name=player.name,
            tier=player.tier,
            ts=player.ts,
            sig=player.sig,
            now=now,
            ttl_s=self.settings.player_sig_ttl_s,
        )

    async def _customer(self, work: Work, hello: CustomerHello, address: str) -> Customer:
        player = hello.player
        if player is None:
            return await direct.insert(
                work.session,
                Customer,
                device=hello.device,
                address=address_key(address),
                created_at=work.now,
            )
        self._verify(player, work.now)
        await spend(
            work.session,
            player.sig,
            player.ts,
            self.settings.player_sig_ttl_s,
            work.now,
            postgres=work.is_postgres,
        )
        customer = await work.session.scalar(
            select(Customer).where(Customer.player_id == player.id)
        )
        if customer is None:
            return await direct.insert(
                work.session,
                Customer,
                player_id=player.id,
                name=player.name,
                tier=player.tier,
                created_at=work.now,
            )
        customer.name = player.name  # written with the unit
        customer.tier = player.tier
        return customer

    async def _resume(self, work: Work, hello: CustomerHello) -> Attached:
        assert hello.resume is not None
        token, last_seq = hello.resume.token, hello.resume.last_seq
        chat = await work.session.scalar(
            select(Chat).where(Chat.resume_token_hash == hash_token(token))
        )
        if chat is None:
            raise Forbidden("unknown resume token")
        if resume_expired(chat.closed_at, work.now, self.settings.resume_ttl_h):
            raise Forbidden("resume token has expired")  # KEFU_RESUME_TTL_H after the close
        if hello.player is not None:
            # A claim sent along must be valid and be the chat's own player.
            self._verify(hello.player, work.now)
            customer = await work.session.get_one(Customer, chat.customer_id)
            if customer.player_id != hello.player.id:
                raise Forbidden("this chat belongs to another customer")
        await self.presence.customer_connected(work, chat)
        await cancel(work, f"{CUSTOMER_GONE}:{chat.id}")
        after = min(last_seq, chat.last_seq)
        return Attached(chat.id, token, after, await self._state(work, chat), chat.closed_by)

    async def _state(self, work: Work, chat: Chat, line: int | None = None) -> dict[str, Any]:
        """Where the chat stands, for a customer (re)joining it (``line``: its line's length,
        asked already)."""
        state: dict[str, Any] = {
            "seq": chat.last_seq,
            "status": chat.status,
            "read": read_state(chat),
        }
        if chat.status == ChatStatus.queued:
            if routing.is_in_line(chat):
                state["position"] = await routing.position_of(work, chat)
            else:
                # Not in line until the customer writes: the place it would take now.
                state["in_line"] = False
                if line is None:
                    line = await routing.line_length(work, chat.group_id)
                state["position"] = line + 1
        if chat.agent_id is not None and chat.status == ChatStatus.assigned:
            state["agent"] = agent_card(await work.session.get_one(Agent, chat.agent_id))
        for hook in self.ready_hooks:
            state.update(await hook(work))
        return state

    async def customer_message(
        self,
        work: Work,
        chat_id: int,
        client_id: str,
        text: str,
        attachments: Sequence[int] = (),
    ) -> Ack:
        check_length(text, self.settings.max_text)
        # A resend is acknowledged again even if the chat has closed since the first copy.
        existing = await find_resend(work, chat_id, Sender.customer, None, client_id)
        if existing is not None:
            return Ack(client_id, existing, duplicate=True)
        chat = await open_chat(work, chat_id)
        first = chat.first_customer_at is None  # read before the machine sets it below
        message = await append(work, chat.id, Sender.customer, text, client_id=client_id)
        if attachments:
            message.attachments = await claim(work, chat.id, message.seq, attachments, None)
        work.send(routing.audience(chat), partial(message_frame, message))
        await self.timing.customer_wrote(work, chat, message)
        if chat.status == ChatStatus.queued and not routing.is_in_line(chat):
            # route_on=message: the first word puts the chat in line; the routing pass assigns
            # it after the commit, and the silent-agent timer starts from this message.
            routing.join_line(work, chat)
        await self.conduct.customer_said(work, chat, message)
        for hook in self.message_hooks:
            await hook(work, chat.id, message.seq, text)
        if first:
            for hook in self.first_message_hooks:
                await hook(work, chat.id, message.seq, text)
        return Ack(client_id, message.seq, duplicate=False)

    def customer_message_step(
        self, chat_id: int, client_id: str, text: str, attachments: Sequence[int] = ()
    ) -> tuple[Step[Ack], Touches]:
        """A customer's ``message`` as a unit for the group commit, and what it touches."""

        async def store(work: Work) -> Ack:
            return await self.customer_message(work, chat_id, client_id, text, attachments)

        return store, touches(chat_id, Sender.customer, None, client_id)

    async def customer_typing(self, work: Work, chat_id: int) -> None:
        chat = await open_chat(work, chat_id)
        if chat.agent_id is not None:
            work.send(agent_address(chat.agent_id), events.AgentTyping(chat.id))

    async def customer_close(self, work: Work, chat_id: int) -> None:
        chat = await open_chat(work, chat_id)
        await self._close(work, chat, by="customer", template="closing")

    async def customer_left(self, work: Work, chat_id: int, process: str | None = None) -> None:
        """A customer socket closed (held by ``process``, by default this one)."""
        chat = await work.session.get_one(Chat, chat_id)
        left = await self.presence.customer_disconnected(work, chat, process)
        if left == 0 and chat.status != ChatStatus.closed:
            due = work.now + timedelta(seconds=self.settings.customer_grace_s)
            await arm(work, CUSTOMER_GONE, f"{CUSTOMER_GONE}:{chat.id}", due, {"chat_id": chat.id})

    async def _customer_gone(self, work: Work, timer: Timer) -> None:
        chat = await locked_chat(work, timer.payload["chat_id"])
        if chat is not None and chat.customer_sockets == 0 and chat.status != ChatStatus.closed:
            await self._close(work, chat, by="system", template=None)

    # -- agent side ----------------------------------------------------------------------------

    async def agent_hello(
        self, work: Work, hello: AgentHello
    ) -> tuple[Agent, list[dict[str, Any]]]:
        agent = await authenticate(work.session, hello.token)
        await self.presence.agent_connected(work, agent)
        await cancel(work, f"{AGENT_GONE}:{agent.id}")
        if hello.status is not None:
            agent.status = hello.status
        elif agent.status == AgentStatus.offline:
            agent.status = AgentStatus.online
        await work.session.flush()
        chats = [chat_summary(chat, customer) for chat, customer in await chats_of(work, agent.id)]
        return agent, chats

    async def pull(self, work: Work) -> None:
        """Hand waiting chats to free agents (an agent just became reachable)."""
        await routing.drain(work)

    async def agent_left(self, work: Work, agent_id: int, process: str | None = None) -> None:
        """An agent socket closed (held by ``process``, by default this one)."""
        agent = await work.session.get_one(Agent, agent_id)
        was_serving = serving(agent)
        if await self.presence.agent_disconnected(work, agent, process) == 0:
            due = work.now + timedelta(seconds=self.settings.agent_grace_s)
            await arm(work, AGENT_GONE, f"{AGENT_GONE}:{agent.id}", due, {"agent_id": agent.id})
        await self.desk.presence_changed(work, agent, was_serving)

    async def _agent_gone(self, work: Work, timer: Timer) -> None:
        # Locked and re-read: a hello committing now is either before this check or after it.
        agent = await work.session.get(
            Agent, timer.payload["agent_id"], with_for_update=True, populate_existing=True
        )
        if agent is not None and agent.connections == 0:
            agent.status = AgentStatus.offline
            await self._requeue_chats_of(work, agent, "gone")
            await self.desk.tell_if_nobody_serves(work, await routing.queued_chats(work))

    async def set_status(self, work: Work, agent_id: int, status: str) -> None:
        agent = await work.session.get_one(Agent, agent_id)
        was_serving = serving(agent)
        agent.status = status
        await work.session.flush()
        if status == AgentStatus.offline:
            await self._requeue_chats_of(work, agent, "offline")
        elif status == AgentStatus.online:
            await routing.drain(work)
        work.send(agent_address(agent.id), events.Status(status))
        await self.desk.presence_changed(work, agent, was_serving)

    async def sign_out(self, work: Work, agent_id: int, reason: str) -> None:
        """An admin disabled the agent or replaced their token: every socket of theirs closes."""
        agent = await work.session.get_one(Agent, agent_id)
        agent.status = AgentStatus.offline
        await work.session.flush()
        await self._requeue_chats_of(work, agent, reason)
        work.send(agent_address(agent.id), events.SignedOut(reason))

    async def agent_message(
        self,
        work: Work,
        agent_id: int,
        chat_id: int,
        client_id: str,
        text: str,
        hold_back: bool | None = None,
        attachments: Sequence[int] = (),
    ) -> Ack:
        check_length(text, self.settings.max_text)
        existing = await find_resend(work, chat_id, Sender.agent, agent_id, client_id)
        if existing is not None:
            return Ack(client_id, existing, duplicate=True)
        chat = await chat_of(work, agent_id, chat_id)
        # S-forbidden-phrases: checked before anything is stored.
        hit = self.conduct.screen(chat, agent_id, text)
        agent = await work.get_one(Agent, agent_id)
        await self.timing.before_agent_message(work, chat, hold_back)
        message = await append(
            work, chat.id, Sender.agent, text, agent_id=agent_id, client_id=client_id
        )
        if attachments:
            message.attachments = await claim(work, chat.id, message.seq, attachments, agent_id)
        if hit is not None:
            await self.conduct.record(work, agent_id, chat.id, hit, message)
        work.send(routing.audience(chat), partial(message_frame, message, agent))
        await self.timing.agent_wrote(work, chat, message)
        return Ack(client_id, message.seq, duplicate=False)

    async def agent_message_seq(
        self,
        work: Work,
        agent_id: int,
        chat_id: int,
        client_id: str,
        text: str,
        hold_back: bool | None = None,
        attachments: Sequence[int] = (),
    ) -> int:
        """``agent_message`` as the group commit's step: the seq to acknowledge."""
        sent = await self.agent_message(
            work, agent_id, chat_id, client_id, text, hold_back, attachments
        )
        return sent.seq

    async def agent_hold(self, work: Work, agent_id: int, chat_id: int) -> None:
        chat = await chat_of(work, agent_id, chat_id)
        await self.timing.hold(work, chat)

    async def agent_typing(self, work: Work, agent_id: int, chat_id: int) -> None:
        chat = await chat_of(work, agent_id, chat_id)
        work.send(customer_address(chat.id), events.CustomerTyping())

    async def agent_close(
        self, work: Work, agent_id: int, chat_id: int, reason: str | None = None
    ) -> None:
        if reason == "abuse":
            # S-abuse: cut off at once, after a warning (refused without one).
            await self.conduct.close_abusive(work, agent_id, chat_id)
            return
        chat = await chat_of(work, agent_id, chat_id)
        # S-customer-ends: ask once more and leave the customer a grace period to answer.
        await self.timing.agent_closing(work, chat)

    # -- shared --------------------------------------------------------------------------------

    async def fill(self, chat_id: int, after: int, audience: str) -> list[dict[str, Any]]:
        async with self.units.read() as session:
            return await frames_after(session, chat_id, after, internal=audience == "agent")

    async def _rejoined(self, work: Work, kind: str, ref_id: int) -> None:
        """A socket of this process, counted out by a peer that took it for dead, is counted in
        again: its grace ends; an agent taken offline meanwhile is online again, as at hello."""
        if kind == CUSTOMER:
            await cancel(work, f"{CUSTOMER_GONE}:{ref_id}")
            return
        await cancel(work, f"{AGENT_GONE}:{ref_id}")
        agent = await work.session.get_one(Agent, ref_id)
        if agent.status == AgentStatus.offline:
            agent.status = AgentStatus.online
            await work.session.flush()
            work.send(agent_address(agent.id), events.Status(agent.status))
            work.route_due = True

    async def reset_presence(self, work: Work) -> None:
        """After a restart of the only process no socket is left: start every grace period."""
        agents = (await work.session.scalars(select(Agent).where(Agent.connections > 0))).all()
        for agent in agents:
            await self.presence.adopt(work, AGENT, agent.id, 1, add=False)
            await self.agent_left(work, agent.id)
        chats = (
            await work.session.scalars(
                select(Chat).where(Chat.customer_sockets > 0, Chat.status != ChatStatus.closed)
            )
        ).all()
        for chat in chats:
            await self.presence.adopt(work, CUSTOMER, chat.id, 1, add=False)
            await self.customer_left(work, chat.id)

    async def _close(self, work: Work, chat: Chat, *, by: str, template: str | None) -> None:
        if template is not None:
            await self._template(work, chat, template)
        for hook in self.closing_hooks:
            await hook(work, chat, by)
        was_assigned = chat.status == ChatStatus.assigned
        was_in_line = routing.is_in_line(chat)
        audience = routing.audience(chat)
        await cancel(work, f"{CUSTOMER_GONE}:{chat.id}")
        await self.timing.apply(work, chat, machine.closed(Conversation.of(chat), by, work.now))
        await work.session.flush()
        work.send(audience, events.Closed(chat.id, by))
        # A freed seat pulls from the queue; a queued chat leaving moves everyone up.
        if was_assigned:
            await routing.drain(work)
        elif was_in_line:
            await routing.announce_positions(work)

    async def _requeue_chats_of(self, work: Work, agent: Agent, reason: str) -> None:
        """The agent left: their chats go back to the front of the queue, everyone told."""
        if work.is_postgres:
            # Their rows locked first, in id order, as the writer's batches lock theirs: taken
            # in any other order, the two deadlocked (a storm of agents leaving, bench phase D).
            await work.session.execute(
                select(Chat.id)
                .where(Chat.agent_id == agent.id, Chat.status == ChatStatus.assigned)
                .order_by(Chat.id)
                .with_for_update()
            )
        for chat, _customer in await chats_of(work, agent.id):
            if chat.closes_at is not None:
                # S-customer-ends: the agent had closed it; with the agent gone it closes now.
                await self._close(work, chat, by="agent", template="closing")
                continue
            work.send(
                agent_address(agent.id),
                events.Unassigned(chat.id, reason),
            )
            await self.timing.unassigned(work, chat)
            write(chat, machine.returned_to_queue())
            await self._template(work, chat, "returned_to_queue", notify_agent=False)
            await routing.route(work, chat, reason)
        await routing.drain(work)

    async def _template(
        self, work: Work, chat: Chat, key: str, *, notify_agent: bool = True, **variables: str
    ) -> None:
        await self._say(work, chat, key, notify_agent=notify_agent, variables=variables)

    async def _say(
        self,
        work: Work,
        chat: Chat,
        key: str,
        *,
        notify_agent: bool = True,
        variables: dict[str, str] | None = None,
        seq: int | None = None,
    ) -> None:
        text = await self.templates.render(work.session, key, chat.locale, **(variables or {}))
        message = await append(work, chat.id, Sender.system, text, template=key, seq=seq)
        to = routing.audience(chat) if notify_agent else [customer_address(chat.id)]
        work.send(to, partial(message_frame, message))

    # What the use cases beside this one say and how they end a chat (chats/conduct.py,
    # chats/transfer.py, callbacks/, desk/ receive these, never the service itself).
    close = _close
    template = _template

"""Transfers (S-no-blind-transfer, S-first-responder): a chat handed to a colleague or a group.

The agent who holds a chat owns it until they hand it over explicitly, with a handoff note.
A transfer either succeeds whole or changes nothing:

- ``to_agent``: the colleague must be serving (online, connected, active) with a free seat;
  otherwise the transfer is refused and the chat stays where it is.
- ``to_group``: a serving member with a free seat takes it at once; if members serve but all
  are full, the chat waits at the front of the group's queue; if no other member serves, the
  transfer is refused.

On success the handoff note is stored as an internal line (agents only), the customer is told
(template ``transferred``), the receiver gets ``assigned`` with the whole history, note
included, and the sender gets ``transferred``. Timing carries over: the chat keeps its
creation and queue times, so nothing that measures the customer's wait starts again.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from sqlalchemy import select

from service.chats import machine, routing
from service.chats.frames import agent_card, message_frame
from service.chats.repository import chat_of
from service.chats.routing import agent_address
from service.chats.rows import write
from service.chats.store import append, check_length
from service.chats.timing import Say
from service.db.models import Agent, AgentGroup, Chat, Group, Sender
from service.db.unit_of_work import Work
from service.desk.service import serving
from service.errors import TransferRefused
from service.groups.service import find
from service.owners.rules import TRANSFER
from service.realtime import events
from service.realtime.protocol import Transfer
from service.settings import Settings


class Transfers:
    def __init__(self, settings: Settings, say: Say) -> None:
        self.max_text = settings.max_text
        self.say = say

    async def transfer(self, work: Work, agent_id: int, command: Transfer) -> None:
        check_length(command.note, self.max_text)
        chat = await chat_of(work, agent_id, command.chat_id)
        if command.to_agent is not None:
            target = await self._agent_target(work, agent_id, command.to_agent)
            await self._hand_over(work, chat, agent_id, command.note, {"agent_id": target.id})
            await routing.assign(work, chat, target, TRANSFER)
        else:
            assert command.to_group is not None
            group = await find(work.session, command.to_group)
            if group is None:
                raise TransferRefused(f"no group {command.to_group!r}", reason="unknown_group")
            taker = await routing.pick_agent(work, group_id=group.id, exclude_id=agent_id)
            if taker is None and not await self._others_serve(work, group, agent_id):
                raise TransferRefused(
                    f"nobody else in {group.name!r} is online", reason="nobody_online"
                )
            await self._hand_over(work, chat, agent_id, command.note, {"group": group.name})
            write(chat, machine.moved_to_group(group.id, agent_id, taken=taker is not None))
            if taker is not None:
                await routing.assign(work, chat, taker, TRANSFER)
            else:
                await routing.route(work, chat, TRANSFER)
        # The freed seat takes the next waiting chat.
        await routing.drain(work)

    async def _agent_target(self, work: Work, agent_id: int, target_id: int) -> Agent:
        if target_id == agent_id:
            raise TransferRefused("the chat is already yours", reason="self")
        target = await work.session.get(Agent, target_id)
        if target is None or not target.active:
            raise TransferRefused(f"no agent {target_id}", reason="unknown_agent")
        if not serving(target):
            raise TransferRefused(f"{target.name} is not online", reason="offline")
        if await routing.pick_agent(work, agent_id=target.id) is None:
            raise TransferRefused(f"{target.name} has no free seat", reason="full")
        return target

    async def _others_serve(self, work: Work, group: Group, agent_id: int) -> bool:
        members = await work.session.scalars(
            select(Agent)
            .join(AgentGroup, AgentGroup.agent_id == Agent.id)
            .where(AgentGroup.group_id == group.id, Agent.id != agent_id)
        )
        return any(serving(member) for member in members)

    async def _hand_over(
        self, work: Work, chat: Chat, agent_id: int, note: str, to: dict[str, Any]
    ) -> None:
        """The note and the customer's notice, seen by the sender; then the sender lets go."""
        sender = await work.session.get_one(Agent, agent_id)
        handoff = await append(
            work, chat.id, Sender.agent, note, agent_id=agent_id, internal=True, kind="handoff"
        )
        work.send(agent_address(agent_id), partial(message_frame, handoff, sender))
        await self.say(work, chat, "transferred")
        if "agent_id" in to:
            receiver = await work.session.get_one(Agent, to["agent_id"])
            to = {"agent": {"id": receiver.id, **agent_card(receiver)}}
        work.send(agent_address(agent_id), events.Transferred(chat.id, to))

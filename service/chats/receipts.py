"""Read receipts: each side's last read seq on the chat, told to the other side.

A read is the cheapest unit there is: it goes through the group commit with the messages (the
batch has already loaded and locked its chat), changes one column when the seq is higher than
the stored one (``machine.read_to``; a lower or equal one changes nothing and tells nobody),
and sends one small frame. It stores no message, arms no timer and runs no rule.
"""

from __future__ import annotations

from typing import Any

from service.chats import machine
from service.chats.repository import locked_chat
from service.chats.routing import agent_address, customer_address
from service.chats.rows import write
from service.db.group_commit import Step, Touches
from service.db.models import Chat, Sender
from service.db.unit_of_work import Work
from service.errors import InvalidRange, InvalidState, NotYourChat
from service.realtime.events import Read


async def customer_read(work: Work, chat_id: int, seq: int) -> None:
    chat = await locked_chat(work, chat_id)
    if chat is None:
        raise InvalidState("this chat is gone")
    _check(chat, seq)
    effects = machine.read_to("customer", chat.customer_read_seq, seq)
    if effects:
        write(chat, effects)
        if chat.agent_id is not None:
            work.send(agent_address(chat.agent_id), Read(chat.id, Sender.customer, seq))


async def agent_read(work: Work, agent_id: int, chat_id: int, seq: int) -> None:
    chat = await locked_chat(work, chat_id)
    # S-privacy: the same answer whether the chat is someone else's or does not exist.
    if chat is None or chat.agent_id != agent_id:
        raise NotYourChat(f"chat {chat_id} is not assigned to you")
    _check(chat, seq)
    effects = machine.read_to("agent", chat.agent_read_seq, seq)
    if effects:
        write(chat, effects)
        work.send(customer_address(chat.id), Read(chat.id, Sender.agent, seq))


def customer_read_step(chat_id: int, seq: int) -> tuple[Step[None], Touches]:
    """A customer's ``read`` as a unit for the group commit, and what it touches."""

    async def step(work: Work) -> None:
        await customer_read(work, chat_id, seq)

    return step, Touches(chat_id)


def agent_read_step(agent_id: int, chat_id: int, seq: int) -> tuple[Step[None], Touches]:
    """An agent's ``read`` as a unit for the group commit, and what it touches."""

    async def step(work: Work) -> None:
        await agent_read(work, agent_id, chat_id, seq)

    return step, Touches(chat_id)


def _check(chat: Chat, seq: int) -> None:
    if seq > chat.last_seq:
        raise InvalidRange(f"seq {seq} is past the chat's last message ({chat.last_seq})")


def read_frame(chat_id: int, by: str, seq: int) -> dict[str, Any]:
    return Read(chat_id, by, seq).frame()

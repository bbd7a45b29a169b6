"""Builders of the outgoing frames of contract v1 (docs/protocol.md shows each)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from service.db.models import Agent, Chat, Customer, Message
from service.realtime.events import MessageOut


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def at(message: Message) -> str:
    return iso(message.created_at)


def agent_card(agent: Agent) -> dict[str, Any]:
    return {"name": agent.name, "employee_no": agent.employee_no}


def customer_card(customer: Customer) -> dict[str, Any]:
    return {
        "id": customer.id,
        "player_id": customer.player_id,
        "name": customer.name,
        "tier": customer.tier,
        "guest": customer.player_id is None,
        # S-abuse: the desk flagged this customer (an earlier chat ended for abuse).
        "flagged": customer.flagged_at is not None,
    }


def message_out(message: Message, agent: Agent | None = None) -> MessageOut:
    return MessageOut(
        chat_id=message.chat_id,
        seq=message.seq,
        id=message.id,
        sender=message.sender,
        text=message.text,
        at=at(message),
        client_id=message.client_id,
        template=message.template,
        agent=None if agent is None else agent_card(agent),
        internal=True if message.internal else None,
        kind=message.kind,
        corrects=message.corrects,
        attachments=message.attachments or None,
    )


def message_frame(message: Message, agent: Agent | None = None) -> dict[str, Any]:
    return message_out(message, agent).frame()


def chat_summary(chat: Chat, customer: Customer) -> dict[str, Any]:
    return {
        "chat_id": chat.id,
        "status": chat.status,
        "customer": customer_card(customer),
        "last_seq": chat.last_seq,
        "locale": chat.locale,
        # The chat's timers (chats/timing.py): since when the customer waits for a reply, and
        # when a chat in its closing grace closes.
        "waiting_since": iso(chat.waiting_since) if chat.waiting_since else None,
        "closes_at": iso(chat.closes_at) if chat.closes_at else None,
        "read": read_state(chat),
    }


def read_state(chat: Chat) -> dict[str, int]:
    """The highest seq each side has read (read receipts): the ticks after a (re)connect."""
    return {"customer": chat.customer_read_seq or 0, "agent": chat.agent_read_seq or 0}

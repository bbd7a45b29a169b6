"""Finding a chat for a use case: the row, locked for the unit of work where it must be.

The lookups every chat use case starts from (the customer's open chat, the agent's own chat,
the chats an agent holds), with the PostgreSQL row lock in one place: once a unit holds a chat's
lock the loaded row is current until the unit ends, and a timer firing on the same chat is
either before or after it. The hot path's own statements (the writer's batch loads, the message
log) are in service/chats/store.py and service/db/group_commit.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from service.db.models import Chat, ChatStatus, Customer
from service.db.unit_of_work import Work
from service.errors import InvalidState, NotYourChat

_ASSIGNED_TO = (
    select(Chat, Customer)
    .join(Customer, Customer.id == Chat.customer_id)
    .where(Chat.status == ChatStatus.assigned)
    .order_by(Chat.assigned_at, Chat.id)
)


async def locked_chat(work: Work, chat_id: int) -> Chat | None:
    """The chat row, locked for this unit on PostgreSQL (SQLite has one writer anyway).

    Once locked, the row is this transaction's until it ends: the loaded object is current.
    """
    if work.is_postgres and chat_id not in work.locked:
        chat = await work.session.get(Chat, chat_id, with_for_update=True, populate_existing=True)
        work.locked.add(chat_id)
        return chat
    return await work.get(Chat, chat_id)


async def open_chat(work: Work, chat_id: int) -> Chat:
    """The customer's chat, still open (locked: a timer closing it now is before or after us)."""
    chat = await locked_chat(work, chat_id)
    if chat is None:
        raise InvalidState("this chat is gone")
    if chat.status == ChatStatus.closed:
        raise InvalidState("this chat is closed")
    return chat


async def chat_of(work: Work, agent_id: int, chat_id: int) -> Chat:
    """The agent's own open chat, locked."""
    chat = await locked_chat(work, chat_id)
    # S-privacy: the same answer whether the chat is someone else's or does not exist.
    if chat is None or chat.agent_id != agent_id:
        raise NotYourChat(f"chat {chat_id} is not assigned to you")
    if chat.status == ChatStatus.closed:
        raise InvalidState("this chat is closed")
    return chat


async def chats_of(work: Work, agent_id: int) -> Sequence[tuple[Chat, Customer]]:
    """The chats an agent holds, with their customers, in the order they were assigned."""
    rows = await work.session.execute(_ASSIGNED_TO.where(Chat.agent_id == agent_id))
    return [(chat, customer) for chat, customer in rows]

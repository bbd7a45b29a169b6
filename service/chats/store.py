"""The message store: the one writer every message goes through, and the reads that replay.

Sequence numbers come from ``chats.last_seq``, bumped in the transaction that stores the message:
on the loaded chat when the transaction holds its row (flushed with the insert), else by an
UPDATE. The row lock makes them gap-free per chat, and a rollback gives the number back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, inspect, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from service.chats.frames import message_frame
from service.db import new_messages
from service.db.group_commit import Touches
from service.db.models import Agent, Chat, Message
from service.db.unit_of_work import Work
from service.errors import TextTooLong

_MESSAGES = inspect(Message).class_manager


def check_length(text: str, limit: int) -> None:
    """A text the log refuses to store: over ``KEFU_MAX_TEXT`` characters."""
    if len(text) > limit:
        raise TextTooLong(f"text over {limit} characters")


async def append(
    work: Work,
    chat_id: int,
    sender: str,
    text: str,
    *,
    agent_id: int | None = None,
    client_id: str | None = None,
    template: str | None = None,
    internal: bool = False,
    kind: str | None = None,
    corrects: int | None = None,
    seq: int | None = None,
) -> Message:
    """``seq``: one the caller has taken already (a new chat's row is inserted with its
    welcome's); else the chat's next."""
    if seq is None:
        seq = await _next_seq(work, chat_id)
    # Built as the ORM's load builds an object (no attribute events: it never enters the session,
    # service/db/new_messages.py writes it), a tenth of a batched message's time saved.
    message = _MESSAGES.new_instance()
    message.__dict__.update(
        chat_id=chat_id,
        seq=seq,
        sender=sender,
        agent_id=agent_id,
        client_id=client_id,
        client_key=client_key(sender, agent_id, client_id),
        text=text,
        template=template,
        internal=internal,
        kind=kind,
        corrects=corrects,
        created_at=work.now,
    )
    if work.message_ids is not None:
        message.id = await work.message_ids.take(work.session)
    # Not flushed here: the unit's messages go to the database in one insert when it ends
    # (service/db/new_messages.py).
    new_messages.add(work.session, message)
    if message.client_key is not None:
        work.stored_keys[(chat_id, message.client_key)] = seq
    return message


async def _next_seq(work: Work, chat_id: int) -> int:
    chat = work.session.identity_map.get(identity_key(Chat, chat_id))
    if isinstance(chat, Chat) and (chat_id in work.locked or not work.is_postgres):
        # The row is locked by this transaction (SQLite: this process's one connection is the
        # only writer): its loaded copy is current.
        chat.last_seq += 1
        return chat.last_seq
    seq: int = (
        await work.session.execute(
            update(Chat)
            .where(Chat.id == chat_id)
            .values(last_seq=Chat.last_seq + 1)
            .returning(Chat.last_seq)
            # Not "evaluate": that walks every loaded object of the identity map.
            .execution_options(synchronize_session=False)
        )
    ).scalar_one()
    if isinstance(chat, Chat):
        set_committed_value(chat, "last_seq", seq)
    return seq


def client_key(sender: str, agent_id: int | None, client_id: str | None) -> str | None:
    if client_id is None:
        return None
    return f"{sender}:{agent_id}:{client_id}" if agent_id is not None else f"{sender}:{client_id}"


def touches(chat_id: int, sender: str, agent_id: int | None, client_id: str | None) -> Touches:
    """What a unit that stores a message reads, for the group commit to load for its batch."""
    return Touches(chat_id, client_key(sender, agent_id, client_id), agent_id)


async def find_resend(
    work: Work, chat_id: int, sender: str, agent_id: int | None, client_id: str
) -> int | None:
    """The seq of the message this author already stored under this client_id, if any."""
    key = client_key(sender, agent_id, client_id)
    assert key is not None
    if (chat_id, key) in work.stored_keys:  # looked up or stored earlier in this transaction
        return work.stored_keys[(chat_id, key)]
    seq = await work.session.scalar(
        select(Message.seq).where(Message.chat_id == chat_id, Message.client_key == key)
    )
    work.stored_keys[(chat_id, key)] = seq
    return seq


async def frames_after(
    session: AsyncSession, chat_id: int, after: int, *, internal: bool
) -> list[dict[str, Any]]:
    """Message frames of one chat with seq > after, in order; internal ones for agents only."""
    query = (
        select(Message, Agent)
        .outerjoin(Agent, Agent.id == Message.agent_id)
        .where(Message.chat_id == chat_id, Message.seq > after)
        .order_by(Message.seq)
    )
    if not internal:
        query = query.where(Message.internal.is_(False))
    rows = await session.execute(query)
    return [message_frame(message, agent) for message, agent in rows]


async def frames_of(
    session: AsyncSession, chat_ids: Sequence[int], *, internal: bool
) -> dict[int, list[dict[str, Any]]]:
    """Every message frame of each chat, in order, in one query (histories for ``assigned``)."""
    if not chat_ids:
        return {}
    query = _HISTORIES if internal else _HISTORIES.where(Message.internal.is_(False))
    frames: dict[int, list[dict[str, Any]]] = {}
    for message, agent in await session.execute(query, {"ids": sorted(set(chat_ids))}):
        frames.setdefault(message.chat_id, []).append(message_frame(message, agent))
    return frames


_HISTORIES = (
    select(Message, Agent)
    .outerjoin(Agent, Agent.id == Message.agent_id)
    .where(Message.chat_id.in_(bindparam("ids", expanding=True)))
    .order_by(Message.chat_id, Message.seq)
)

"""/api/v1/chats: the chats and their transcripts (supervisors: all; an agent: their own),
and a supervisor's forced close."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.api.roles import AccessDep, ClearPiiDep
from service.chats.frames import customer_card
from service.chats.repository import open_chat
from service.chats.store import frames_after
from service.db.models import Chat, Customer
from service.errors import NotFound
from service.owners.schemas import OwnerSpan
from service.owners.service import chat_owners
from service.privacy.masking import masked
from service.realtime.protocol import MAX_ID, RowId

router = APIRouter(prefix="/chats", tags=["chats"])


class ChatOut(BaseModel):
    id: int
    status: str
    customer: dict[str, Any]
    agent_id: int | None
    locale: str
    queue_position: int | None
    last_seq: int
    created_at: datetime
    assigned_at: datetime | None
    # When the current stint in the queue began (null unless queued): the dashboard's clock.
    queued_since: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    # Stored reply timing (chats/timing.py): time spent in the queue, first response.
    queue_s: float
    first_response_s: float | None


class ChatPage(BaseModel):
    items: list[ChatOut]
    total: int


class ChatDetail(ChatOut):
    messages: list[dict[str, Any]]
    # S-first-responder: who took it, when, and how each left (service/owners/).
    owners: list[OwnerSpan]


COMPUTED = frozenset({"customer", "queue_s", "first_response_s"})


def chat_out(chat: Chat, customer: Customer) -> dict[str, Any]:
    first = chat.first_response_ms
    return {
        **{name: getattr(chat, name) for name in ChatOut.model_fields if name not in COMPUTED},
        "customer": customer_card(customer),
        "queue_s": chat.queue_ms / 1000,
        "first_response_s": None if first is None else first / 1000,
    }


def shown(answer: dict[str, Any], clear: bool) -> dict[str, Any]:
    return answer if clear else masked(answer)


@router.get("", response_model=ChatPage)
async def list_chats(
    runtime: RuntimeDep,
    access: AccessDep,
    clear: ClearPiiDep,
    status: Literal["queued", "assigned", "closed"] | None = None,
    agent_id: Annotated[RowId | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> ChatPage:
    query = select(Chat, Customer).join(Customer, Customer.id == Chat.customer_id)
    if status is not None:
        query = query.where(Chat.status == status)
    if agent_id is not None:
        query = query.where(Chat.agent_id == agent_id)
    if access.only_agent is not None:
        query = query.where(Chat.agent_id == access.only_agent)
    async with runtime.units.read() as session:
        total = await session.scalar(select(func.count()).select_from(query.subquery()))
        rows = await session.execute(query.order_by(Chat.id.desc()).limit(limit).offset(offset))
        items = [ChatOut.model_validate(shown(chat_out(c, u), clear)) for c, u in rows]
    return ChatPage(items=items, total=total or 0)


@router.get("/{chat_id}", response_model=ChatDetail)
async def get_chat(
    chat_id: RowId, runtime: RuntimeDep, access: AccessDep, clear: ClearPiiDep
) -> ChatDetail:
    async with runtime.units.read() as session:
        row = (
            await session.execute(
                select(Chat, Customer)
                .join(Customer, Customer.id == Chat.customer_id)
                .where(Chat.id == chat_id)
            )
        ).first()
        # S-privacy: another agent's chat answers as one that does not exist.
        if row is None or access.only_agent not in (None, row[0].agent_id):
            raise NotFound(f"no chat {chat_id}")
        messages = await frames_after(session, chat_id, 0, internal=True)
        owners = await chat_owners(session, chat_id)
    # Each attachment with a link to it, valid for KEFU_MEDIA_URL_TTL_S.
    messages = runtime.attachments.signed(messages)
    # S-privacy: without the pii permission the transcript comes masked (docs/privacy.md).
    # The chain of owners holds no personal data (ids, times, reasons): shown as it is.
    answer = shown({**chat_out(*row), "messages": messages}, clear)
    return ChatDetail.model_validate({**answer, "owners": owners})


@router.post("/{chat_id}/close", response_model=ChatOut)
async def force_close(chat_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> ChatOut:
    """A supervisor ends an open chat: the closing template (S-closing) and ``closed`` with
    ``by: "system"`` go to the customer and the agent, without the closing grace."""
    async with runtime.units() as work:
        if await work.session.get(Chat, chat_id) is None:
            raise NotFound(f"no chat {chat_id}")
        chat = await open_chat(work, chat_id)
        before = audit.snapshot(chat, CLOSE_FIELDS)
        await runtime.chats.close(work, chat, by="system", template="closing")
        after = audit.snapshot(chat, CLOSE_FIELDS)
        await audit.record(work.session, caller, work.now, "chat.force_close", chat, before, after)
        customer = await work.session.get_one(Customer, chat.customer_id)
        return ChatOut.model_validate(chat_out(chat, customer))


CLOSE_FIELDS = ("status", "agent_id", "closed_at", "closed_by")

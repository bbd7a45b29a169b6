"""The attachments' use cases: who may upload and see a chat's files, uploads, signed links.

Who may do what (S-privacy):
- upload to a chat: its customer (their resume token) or its assigned agent (their agent
  token), while it is open;
- see its files: its customer, an agent who holds it, held it or wrote in it, any supervisor,
  and admin tokens.
Everyone else gets ``not_your_chat``, the same answer as for a chat that does not exist.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from service.attachments import media
from service.attachments.links import Links, expires_at
from service.attachments.storage import Storage, new_key
from service.attachments.store import card
from service.attachments.unsent import UnsentUploads
from service.chats.frames import iso
from service.db.models import (
    Attachment,
    Chat,
    ChatStatus,
    Message,
    Sender,
    SigningKey,
)
from service.db.unit_of_work import Units
from service.errors import BadUpload, InvalidState, NotFound, NotYourChat, Unauthorized
from service.security import hash_token, resume_expired
from service.settings import Settings
from service.tokens.service import Role, caller_of

log = logging.getLogger(__name__)

Kind = Literal["customer", "agent", "supervisor", "admin"]
KINDS: dict[Role, Kind] = {Role.admin: "admin", Role.supervisor: "supervisor", Role.agent: "agent"}
SIGNING_KEY = "media"


@dataclass(frozen=True)
class Viewer:
    """Who presented the bearer token: a chat's customer, an agent (or supervisor), an admin."""

    kind: Kind
    chat_id: int | None = None
    agent_id: int | None = None


@dataclass(frozen=True)
class File:
    content_type: str
    name: str
    data: bytes


class Attachments:
    def __init__(
        self, settings: Settings, units: Units, storage: Storage, unsent: UnsentUploads
    ) -> None:
        self.settings = settings
        self.units = units
        self.storage = storage
        self.unsent = unsent
        self.max_bytes = int(settings.max_upload_mb * 1024 * 1024)
        self._links: Links | None = None
        # Decoding a 40-megapixel image takes ~160 MB: two at a time, the others wait.
        self._decoding = asyncio.Semaphore(2)

    @property
    def links(self) -> Links:
        if self._links is None:
            raise RuntimeError("Attachments.start() has not run")
        return self._links

    async def start(self) -> None:
        """Load (or make, once per deployment) the key the links are signed with."""
        secret = self.settings.media_secret or await self._shared_secret()
        self._links = Links(secret, self.settings.media_url_ttl_s)

    async def _shared_secret(self) -> str:
        for _ in range(2):
            async with self.units.read() as session:
                found = await session.get(SigningKey, SIGNING_KEY)
            if found is not None:
                return found.secret
            try:
                async with self.units() as work:
                    secret = secrets.token_urlsafe(48)
                    key = SigningKey(name=SIGNING_KEY, secret=secret, created_at=work.now)
                    work.session.add(key)
                return secret
            except IntegrityError:  # another process made it first: read theirs
                continue
        raise RuntimeError("no signing key")  # pragma: no cover

    # -- who -------------------------------------------------------------------------------------

    async def who(self, token: str | None) -> Viewer:
        if not token:
            raise Unauthorized("a bearer token is required (a chat's resume token, an agent's)")
        async with self.units.read() as session:
            digest = hash_token(token)
            row = (
                await session.execute(
                    select(Chat.id, Chat.closed_at).where(Chat.resume_token_hash == digest)
                )
            ).first()
            if row is not None:
                now, ttl_h = self.units.clock.now(), self.settings.resume_ttl_h
                if resume_expired(row.closed_at, now, ttl_h):
                    raise Unauthorized("resume token has expired")  # as on the socket
                return Viewer("customer", chat_id=row.id)
            # An agent's or supervisor's own token, an admin or supervisor token (service/tokens).
            caller = await caller_of(session, token, self.settings.admin_token)
            if caller is not None:
                return Viewer(KINDS[caller.role], agent_id=caller.agent_id)
        raise Unauthorized("unknown token")

    async def check_upload(self, viewer: Viewer, chat_id: int) -> None:
        async with self.units.read() as session:
            chat = await session.get(Chat, chat_id)
        mine = chat is not None and (
            (viewer.kind == "customer" and viewer.chat_id == chat.id)
            or (viewer.agent_id is not None and viewer.agent_id == chat.agent_id)
        )
        if chat is None or not mine:
            raise NotYourChat(f"chat {chat_id} is not yours to send files to")
        if chat.status == ChatStatus.closed:
            raise InvalidState("this chat is closed")

    async def check_view(self, session: AsyncSession, viewer: Viewer, chat_id: int) -> None:
        chat = await session.get(Chat, chat_id)
        if chat is not None and await self._may_view(session, viewer, chat):
            return
        raise NotYourChat(f"chat {chat_id} is not yours to see")

    async def _may_view(self, session: AsyncSession, viewer: Viewer, chat: Chat) -> bool:
        if viewer.kind in ("admin", "supervisor"):
            return True
        if viewer.kind == "customer":
            return viewer.chat_id == chat.id
        agent_id = viewer.agent_id
        if agent_id in (chat.agent_id, chat.handoff_from_id):
            return True
        # An agent who wrote in it (a transfer's sender, a colleague before a requeue).
        wrote = await session.scalar(
            select(exists().where(Message.chat_id == chat.id, Message.agent_id == agent_id))
        )
        return bool(wrote)

    # -- use cases -------------------------------------------------------------------------------

    async def upload(
        self, viewer: Viewer, chat_id: int, name: str | None, data: bytes
    ) -> dict[str, Any]:
        """Store one file (checked, images cleaned) for the viewer to send; its card and link."""
        if not data:
            raise BadUpload("the upload is empty")
        async with self._decoding:
            cleaned = await asyncio.to_thread(media.clean, data)
        key = new_key()
        await self.storage.put(key, cleaned.data)
        try:
            async with self.units() as work:
                row = Attachment(
                    chat_id=chat_id,
                    uploader=Sender.customer if viewer.kind == "customer" else Sender.agent,
                    agent_id=viewer.agent_id,
                    content_type=cleaned.content_type,
                    name=file_name(name, cleaned.content_type),
                    size=len(cleaned.data),
                    width=cleaned.width,
                    height=cleaned.height,
                    sha256=hashlib.sha256(cleaned.data).hexdigest(),
                    storage_key=key,
                    created_at=work.now,
                )
                work.session.add(row)
                await work.session.flush()
                await self.unsent.uploaded(work)
        except BaseException:
            await self.storage.delete(key)  # nothing is kept of a refused upload
            raise
        log.info("attachment.stored chat=%s id=%s type=%s", chat_id, row.id, row.content_type)
        return {**self.signed_card(card(row), work.now), "chat_id": chat_id}

    async def of_chat(self, viewer: Viewer, chat_id: int) -> list[dict[str, Any]]:
        """The chat's sent files (those a message carries), each with a fresh link."""
        async with self.units.read() as session:
            await self.check_view(session, viewer, chat_id)
            rows = await session.scalars(
                select(Attachment)
                .where(Attachment.chat_id == chat_id, Attachment.seq.is_not(None))
                .order_by(Attachment.id)
            )
            now = self.units.clock.now()
            return [{**self.signed_card(card(row), now), "seq": row.seq} for row in rows]

    async def file(self, attachment_id: int, expires: int, sig: str) -> File:
        self.links.check(attachment_id, expires, sig, self.units.clock.now())
        async with self.units.read() as session:
            row = await session.get(Attachment, attachment_id)
        if row is None:  # deleted since the link was made
            raise NotYourChat("no such file")
        try:
            data = await self.storage.open(row.storage_key)
        except FileNotFoundError:  # removed from the storage by hand
            raise NotFound("the file is gone") from None
        return File(row.content_type, row.name, data)

    # -- links -----------------------------------------------------------------------------------

    def signed_card(self, shown: dict[str, Any], now: datetime) -> dict[str, Any]:
        url, expires = self.links.url(shown["id"], now), self.links.expiry(now)
        return {**shown, "url": url, "expires_at": iso(expires_at(expires))}

    def signed(self, frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Message frames with a link on each attachment (a transcript for an admin)."""
        now = self.units.clock.now()
        return [
            {**frame, "attachments": [self.signed_card(a, now) for a in frame["attachments"]]}
            if frame.get("attachments")
            else frame
            for frame in frames
        ]


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|]+")


def file_name(given: str | None, content_type: str) -> str:
    """A name to show and to save as: the given one's last part, cleaned, with the extension
    of what the bytes are (a ``.png`` that holds a PDF is shown as ``.pdf``)."""
    extension = media.EXTENSIONS[content_type]
    stem = unicodedata.normalize("NFC", (given or "").replace("\\", "/").rsplit("/", 1)[-1])
    stem = _UNSAFE.sub("_", stem).strip(" ._")
    if "." in stem:
        stem = stem.rsplit(".", 1)[0].strip(" ._")
    stem = stem[:100] or "file"
    return f"{stem}.{extension}"

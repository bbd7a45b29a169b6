"""The attachments' HTTP shapes (docs/protocol.md#attachments)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class AttachmentOut(BaseModel):
    id: int
    content_type: str
    name: str
    size: int
    width: int | None = None
    height: int | None = None
    # A signed link to the file, valid until expires_at (KEFU_MEDIA_URL_TTL_S).
    url: str
    expires_at: datetime
    # The chat (after an upload) or the message that carries it (in a chat's list).
    chat_id: int | None = None
    seq: int | None = None


class AttachmentList(BaseModel):
    items: list[AttachmentOut]

"""Admin API shapes for webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

EVENTS = (
    "chat.opened",
    "chat.assigned",
    "chat.closed",
    "message.created",
    "complaint.created",
    "complaint.updated",
    "rating.created",
    "callback.due",
    "incident.declared",
    "incident.resolved",
)
Event = Literal[
    "chat.opened",
    "chat.assigned",
    "chat.closed",
    "message.created",
    "complaint.created",
    "complaint.updated",
    "rating.created",
    "callback.due",
    "incident.declared",
    "incident.resolved",
]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("a webhook URL is http:// or https:// with a host")
    try:
        parts.port  # noqa: B018  (parsing it is the check)
    except ValueError as exc:
        raise ValueError("a webhook URL's port is a number from 0 to 65535") from exc
    if parts.username or parts.password:
        raise ValueError("a webhook URL carries no credentials; the signature proves the sender")
    return value


Url = Annotated[str, Field(min_length=8, max_length=2000), AfterValidator(_http_url)]
Secret = Annotated[str, Field(min_length=16, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Events = Annotated[list[Event], Field(min_length=1, max_length=len(EVENTS))]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url = Field(description="where deliveries are POSTed; http or https only")
    events: Events = Field(description="the events this subscription receives")
    secret: Secret | None = Field(
        default=None, description="the signing secret; default: a new one, shown once"
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: Url | None = None
    events: Events | None = None
    secret: Secret | None = None
    active: bool | None = None


class WebhookOut(BaseModel):
    id: int
    url: str
    events: list[str]
    active: bool
    secret_hint: str = Field(description="the secret's first characters, to tell which one")
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="the signing secret; shown only here")


class DeliveryOut(BaseModel):
    delivery_id: str = Field(description="stable across retries: receivers deduplicate by it")
    event: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_at: datetime | None = Field(description="the next attempt, while pending")
    last_status: int | None = Field(description="the receiver's last HTTP status")
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None

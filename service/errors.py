"""The exception hierarchy of kefu.

Each error carries a stable ``code``; the socket gateways turn it into an ``error`` frame and the
HTTP layer into an ``application/problem+json`` body, each in exactly one place.
"""

from __future__ import annotations


class KefuError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra


class BadFrame(KefuError):
    code = "bad_frame"


class BadJson(BadFrame):
    code = "bad_json"


class UnknownType(BadFrame):
    code = "unknown_type"


class FrameTooLarge(BadFrame):
    code = "frame_too_large"
    status = 413


class BodyTooLarge(KefuError):
    """An admin API body over KEFU_MAX_BODY_KB, refused before it is read."""

    code = "body_too_large"
    status = 413


class TextTooLong(BadFrame):
    code = "text_too_long"
    status = 413


class Unsupported(KefuError):
    code = "unsupported"
    status = 501


class NotFound(KefuError):
    code = "not_found"
    status = 404


class NotYourChat(KefuError):
    """Deliberately the same answer whether the chat exists or not (S-privacy)."""

    code = "not_your_chat"
    status = 404


class InvalidState(KefuError):
    code = "invalid_state"
    status = 409


class InvalidRange(KefuError):
    code = "invalid_range"
    status = 422


class Conflict(KefuError):
    code = "conflict"
    status = 409


class Unauthorized(KefuError):
    code = "unauthorized"
    status = 401


class Forbidden(KefuError):
    code = "forbidden"
    status = 403


class UnknownTopic(KefuError):
    """A complaint topic that is not in KEFU_COMPLAINT_TOPICS."""

    code = "unknown_topic"
    status = 422


class UnknownAgent(KefuError):
    """A complaint owner that is no active agent."""

    code = "unknown_agent"
    status = 422


class OwnerRequired(Conflict):
    """S-classes: an urgent complaint past "open" needs a named owner."""

    code = "owner_required"


class FollowUpRequired(Conflict):
    """S-follow-up: a complaint closes only after its follow-up is recorded."""

    code = "follow_up_required"


class AlreadyRated(Conflict):
    code = "already_rated"


class ForbiddenPhraseUsed(KefuError):
    """S-forbidden-phrases: the text holds a taboo phrase; ``phrase`` and ``suggestion`` say
    which one and what to say instead."""

    code = "forbidden_phrase"
    status = 422


class UnknownTemplate(KefuError):
    code = "unknown_template"
    status = 404


class InvalidTemplate(KefuError):
    """A template wording or its values break the catalogue's rules (unknown variable, …)."""

    code = "invalid_template"
    status = 422


class TransferRefused(KefuError):
    """The target cannot take the chat; ``reason`` says why and the chat stays where it was."""

    code = "transfer_refused"
    status = 409


class NotYourMessage(KefuError):
    """S-correction: an agent corrects only their own messages."""

    code = "not_your_message"
    status = 403


class UnsafeWebhookUrl(KefuError):
    """A webhook endpoint that resolves to an address kefu never posts to (SSRF); ``reason``
    says which kind (service/webhooks/targets.py)."""

    code = "unsafe_url"
    status = 422


class RateLimited(KefuError):
    """Too much, too fast: a socket over its frame or message rate, or an address over its
    failed sign-ins; ``retry_after`` says how many seconds to wait."""

    code = "rate_limited"
    status = 429


class RequestTimeout(KefuError):
    """The request's body did not arrive within KEFU_BODY_TIMEOUT_S."""

    code = "request_timeout"
    status = 408


class Unavailable(KefuError):
    """The database did not answer: nothing was stored; the same frame may be sent again."""

    code = "unavailable"
    status = 503


class PromiseRefused(KefuError):
    """S-callback-24h: the promised time is in the past or too far ahead; ``reason`` says
    which (``past``, ``too_far``, ``no_zone``, ``no_complaint``)."""

    code = "promise_refused"
    status = 422


class UploadTooLarge(KefuError):
    """An upload over KEFU_MAX_UPLOAD_MB, refused before more of it is read."""

    code = "upload_too_large"
    status = 413


class UnsupportedMedia(KefuError):
    """An upload whose bytes are not PNG, JPEG, WebP or PDF (whatever its name says)."""

    code = "unsupported_media"
    status = 415


class BadUpload(KefuError):
    """An upload that claims a type its bytes do not hold (a broken or truncated image, …)."""

    code = "bad_upload"
    status = 422


class UnknownAttachment(KefuError):
    """A message names an attachment that is not an unsent upload of its sender in this chat."""

    code = "unknown_attachment"
    status = 422


class BadLink(KefuError):
    """A file link whose signature does not match (forged or altered)."""

    code = "bad_link"
    status = 403


class LinkExpired(KefuError):
    """A file link past its expiry: ask for a fresh one."""

    code = "link_expired"
    status = 410

"""Short-lived signed links to attachments: ``/media/files/<id>?exp=<unix s>&sig=<hmac>``.

A link is handed only to whom may see the file (service.py decides); whoever holds it may
fetch the file until it expires, as with an S3 presigned URL, so that an ``<img src>`` works
without credentials.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

from service.errors import BadLink, LinkExpired

PATH = "/media/files"


class Links:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._key = secret.encode()
        self.ttl_s = ttl_s

    def _sig(self, attachment_id: int, expires: int) -> str:
        message = f"{attachment_id}.{expires}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def expiry(self, now: datetime) -> int:
        # Rounded up to the minute: links made within one minute are the same (browser cache).
        return (int(now.timestamp()) + self.ttl_s + 59) // 60 * 60

    def url(self, attachment_id: int, now: datetime) -> str:
        expires = self.expiry(now)
        return f"{PATH}/{attachment_id}?exp={expires}&sig={self._sig(attachment_id, expires)}"

    def check(self, attachment_id: int, expires: int, sig: str, now: datetime) -> None:
        try:
            given = sig.encode("ascii")
        except UnicodeEncodeError:
            raise BadLink("the link's signature does not match") from None
        if not hmac.compare_digest(self._sig(attachment_id, expires).encode(), given):
            raise BadLink("the link's signature does not match")
        if expires < now.timestamp():
            raise LinkExpired("the link has expired; ask for a fresh one")


def expires_at(expires: int) -> datetime:
    return datetime.fromtimestamp(expires, UTC)

"""The contacts customers leave for a callback, sealed at rest (S-privacy, docs/privacy.md).

A contact (a phone number, an email) is written to ``callbacks.contact`` as a Fernet token
(AES-128-CBC with an HMAC-SHA256, from ``cryptography``) under ``KEFU_DATA_KEY``; the admin
API opens it in memory and shows it in clear only to callers with the ``pii`` permission,
masked to the others. Several keys rotate: the first seals, any of them opens.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.clock import Clock
from service.settings import Settings

log = logging.getLogger(__name__)
SEALED = "fernet:"  # what a sealed value starts with; anything else is from before the seal
UNREADABLE = "[unreadable: sealed under another KEFU_DATA_KEY]"


def new_key() -> str:
    return Fernet.generate_key().decode()


def keys_of(settings: Settings) -> list[str]:
    """KEFU_DATA_KEY's keys, or on SQLite the key kept beside the database (made once)."""
    if settings.data_key is not None:
        return [item.strip() for item in settings.data_key.split(",") if item.strip()]
    # Settings refuse PostgreSQL without a key, so this is the embedded default.
    return [_kept_key(settings.data_key_path)]


def _kept_key(path: Path) -> str:
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    # Created readable by its owner only, and never overwritten (O_EXCL): two processes
    # starting at once agree on the first one's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
    log.warning("data_key.created path=%s", path)
    return key


class Sealer:
    def __init__(self, keys: Sequence[str], clock: Clock) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        self._clock = clock

    @classmethod
    def of(cls, settings: Settings, clock: Clock) -> Sealer:
        return cls(keys_of(settings), clock)

    def seal(self, plain: str) -> str:
        now = int(self._clock.now().timestamp())
        return SEALED + self._fernet.encrypt_at_time(plain.encode(), now).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(SEALED):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(SEALED).encode()).decode()
        except InvalidToken:
            # A key taken out of KEFU_DATA_KEY too soon: say so rather than fail the page.
            log.error("data_key.cannot_open")
            return UNREADABLE

"""Where attachments' bytes live: a small interface, and the disk behind it by default.

An S3-compatible store implements the same three methods (``put`` as a PUT of the object,
``open`` as a GET, ``delete`` as a DELETE); keys are random names, never a customer's.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def open(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


def new_key() -> str:
    """A fresh key: two characters of fan-out, then 128 random bits."""
    name = secrets.token_hex(16)
    return f"{name[:2]}/{name}"


class DiskStorage:
    """Files under one directory (``KEFU_MEDIA_DIR``), written whole or not at all."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):  # keys are ours; a bad one is a bug
            raise ValueError(f"storage key outside the media directory: {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    async def open(self, key: str) -> bytes:
        return await asyncio.to_thread(self._path(key).read_bytes)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.part")
        with open(partial, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        # Renamed into place: a reader never sees half a file, a crash leaves only a .part.
        os.replace(partial, path)

"""The event bus: moves committed events to every process, which hands them to its hub.

One small interface with two backends picked from a URL, as encode/broadcaster does it:
``memory`` for one process (the embedded default and most tests), ``redis`` for many.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Protocol

CHANNEL = "kefu.events"


@dataclass(frozen=True, slots=True)
class Envelope:
    """One frame for a set of addresses ("customer:12", "agent:3")."""

    to: tuple[str, ...]
    frame: dict[str, Any]

    def encode(self) -> str:
        return json.dumps({"to": self.to, "frame": self.frame}, ensure_ascii=False)

    @classmethod
    def decode(cls, raw: str | bytes) -> Envelope:
        data = json.loads(raw)
        return cls(tuple(data["to"]), data["frame"])


class Bus(Protocol):
    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, envelope: Envelope) -> None: ...
    async def next_published(self) -> Envelope: ...


class MemoryBus:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue()

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def publish(self, envelope: Envelope) -> None:
        self._queue.put_nowait(envelope)

    async def next_published(self) -> Envelope:
        return await self._queue.get()


class RedisBus:
    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        from redis.asyncio import Redis

        self._redis: Redis = Redis.from_url(url)
        self._channel = channel
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)

    async def connect(self) -> None:
        await self._pubsub.subscribe(self._channel)

    async def disconnect(self) -> None:
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()

    async def publish(self, envelope: Envelope) -> None:
        await self._redis.publish(self._channel, envelope.encode())

    async def next_published(self) -> Envelope:
        while True:
            message = await self._pubsub.get_message(timeout=None)
            if message is not None and message["type"] == "message":
                return Envelope.decode(message["data"])


def create_bus(redis_url: str | None) -> Bus:
    return RedisBus(redis_url) if redis_url else MemoryBus()

"""The event bus: moves committed events to every process, which hands them to its hub.

One small interface with two backends picked from a URL, as encode/broadcaster does it:
``memory`` for one process (the embedded default and most tests), ``redis`` for many.

The bus carries wake-ups, never truth (docs/design.md): a publish that fails is dropped, never
raised into the write path; the hub fills what it missed from the database while ``up`` is
false. The Redis backend reconnects and resubscribes by itself, with backoff.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

CHANNEL = "kefu.events"
# Reconnect backoff of the Redis backend, in seconds: doubled from the first to the last.
RETRY_FIRST_S = 0.1
RETRY_LAST_S = 2.0


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
    # False while events may be lost (Redis away): the hub then reads the database instead.
    @property
    def up(self) -> bool: ...

    # How many times the bus went down since it started: a change means events were missed.
    @property
    def outages(self) -> int: ...

    async def connect(self) -> None: ...
    async def disconnect(self) -> None: ...
    async def publish(self, envelope: Envelope) -> None: ...
    async def next_published(self) -> Envelope: ...


class MemoryBus:
    def __init__(self) -> None:
        self._queue: asyncio.Queue[Envelope] = asyncio.Queue()

    @property
    def up(self) -> bool:
        return True

    @property
    def outages(self) -> int:
        return 0

    async def connect(self) -> None:
        pass

    async def disconnect(self) -> None:
        pass

    async def publish(self, envelope: Envelope) -> None:
        self._queue.put_nowait(envelope)

    async def next_published(self) -> Envelope:
        return await self._queue.get()


class RedisBus:
    """Redis pub/sub on one channel per deployment (``{prefix}.events``).

    ``next_published`` owns the subscription: when the connection breaks it marks the bus down,
    retries with backoff and resubscribes; ``publish`` drops envelopes while the bus is down
    instead of trying to connect once per message.
    """

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        # Bounded connects and publishes: a Redis that does not answer must not stall a commit.
        self._redis: Redis = Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        self._listener: Redis = Redis.from_url(url, socket_connect_timeout=2)
        self._channel = channel
        self._pubsub: PubSub | None = None
        self._up = False
        self._outages = 0
        self._reported = False

    @property
    def channel(self) -> str:
        return self._channel

    @property
    def up(self) -> bool:
        return self._up

    @property
    def outages(self) -> int:
        return self._outages

    async def connect(self) -> None:
        """Subscribe once; a Redis that is not there yet starts the bus down, not the process."""
        try:
            await self._subscribe()
        except _ERRORS as exc:
            self._down(exc)

    async def disconnect(self) -> None:
        if self._pubsub is not None:
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._listener.aclose()
        await self._redis.aclose()

    async def publish(self, envelope: Envelope) -> None:
        if not self._up:
            return
        data = envelope.encode()
        try:
            await self._redis.publish(self._channel, data)
        except _ERRORS:
            # Once more on a fresh connection: the pooled one may have died with an old Redis.
            try:
                await self._redis.publish(self._channel, data)
            except _ERRORS as exc:
                self._down(exc)

    async def next_published(self) -> Envelope:
        delay = RETRY_FIRST_S
        while True:
            try:
                if self._pubsub is None or not self._up:
                    # A failed publish marks the bus down too: subscribe afresh before trusting it.
                    await self._drop_subscription()
                    await self._subscribe()
                    delay = RETRY_FIRST_S
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
            except _ERRORS as exc:
                self._down(exc)
                await self._drop_subscription()
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_LAST_S)
                continue
            if message is not None and message["type"] == "message":
                return Envelope.decode(message["data"])

    async def _subscribe(self) -> None:
        pubsub = self._listener.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(self._channel)
        except BaseException:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
            raise
        self._pubsub = pubsub
        if not self._up:
            # The publisher's pooled connections may be the dead Redis's: start afresh.
            await self._redis.connection_pool.disconnect()
            self._up = True
            if self._reported:
                log.warning("bus.up channel=%s", self._channel)
            self._reported = False

    async def _drop_subscription(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await pubsub.aclose()  # type: ignore[no-untyped-call]
            except _ERRORS:
                pass

    def _down(self, exc: BaseException) -> None:
        # Logged on the change only: a Redis outage is one line, not one per message.
        if self._up:
            self._outages += 1
        if not self._reported:
            log.error("bus.down channel=%s cause=%s", self._channel, type(exc).__name__)
            self._reported = True
        self._up = False


# What a Redis that went away raises (redis-py's own, or the socket's).
_ERRORS = (RedisError, OSError, TimeoutError)


def create_bus(redis_url: str | None, prefix: str = "kefu") -> Bus:
    return RedisBus(redis_url, f"{prefix}.events") if redis_url else MemoryBus()

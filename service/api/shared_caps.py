"""Per-address caps counted across processes in Redis, when one is configured.

``Limits`` counts an address's sockets and new guest chats in this process; behind a load
balancer with N processes an address could reach N times each cap. With KEFU_REDIS_URL the
same counts are kept in Redis as well, by atomic INCR with an expiry, under the deployment's
prefix: ``<prefix>.caps.sockets:<address>`` (up on a socket, down when it closes; every
process renews the expiry of the addresses it holds, so a killed process's share goes after
``caps_ttl_s`` once nobody renews it) and ``<prefix>.caps.guests:<address>:<minute>`` (a
fixed one-minute window). The process's own counts are always kept too: they decide while
Redis is away (after a failure Redis is left alone for ``RETRY_S``), and they never let more
through than the shared ones would, since one process's share is at most the whole.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import redis.asyncio as redis
from redis.exceptions import RedisError

from service.api.limits import Limits

log = logging.getLogger(__name__)
RETRY_S = 5.0  # after Redis failed, how long the process's own counts decide alone
TIMEOUT_S = 0.25  # a Redis that does not answer this fast is taken as away


@dataclass(frozen=True, slots=True)
class Ticket:
    """A socket counted in: where, and whether Redis counted it too (so it is counted out)."""

    address: str
    shared: bool


class SharedCaps:
    def __init__(self, limits: Limits, url: str | None, prefix: str, ttl_s: float) -> None:
        self.limits = limits
        self.prefix = f"{prefix}.caps"
        self.ttl_s = max(1, int(ttl_s))
        self._redis = (
            redis.Redis.from_url(url, socket_timeout=TIMEOUT_S, socket_connect_timeout=TIMEOUT_S)
            if url
            else None
        )
        self._away_until = 0.0

    @property
    def shared(self) -> bool:
        return self._redis is not None and time.monotonic() >= self._away_until

    async def open_socket(self, address: str) -> Ticket | None:
        """A ticket when the address may hold another socket (counted), else None."""
        if not self.limits.open_socket(address):
            return None
        if self._redis is None or not self.shared or self.limits.is_exempt(address):
            return Ticket(address, shared=False)
        key = f"{self.prefix}.sockets:{address}"
        try:
            held = await self._counted(key, self.ttl_s)
            if held > self.limits.settings.ip_max_sockets:
                await self._redis.decr(key)
                self.limits.close_socket(address)
                self.limits.refused("ip_sockets")
                return None
        except (RedisError, OSError) as exc:
            self._away(exc)
            return Ticket(address, shared=False)
        return Ticket(address, shared=True)

    async def close_socket(self, ticket: Ticket) -> None:
        self.limits.close_socket(ticket.address)
        if not ticket.shared or self._redis is None:
            return
        key = f"{self.prefix}.sockets:{ticket.address}"
        try:
            if await self._redis.decr(key) <= 0:
                await self._redis.delete(key)
        except (RedisError, OSError) as exc:
            self._away(exc)  # the key's expiry counts it out in the end

    async def new_guest_chat(self, address: str) -> float:
        """0.0 when the address may open another guest chat (counted), else the wait."""
        wait = self.limits.new_guest_chat(address)
        if wait or self._redis is None or not self.shared or self.limits.is_exempt(address):
            return wait
        now = self.limits.now()
        minute = int(now // 60)
        key = f"{self.prefix}.guests:{address}:{minute}"
        try:
            opened = await self._counted(key, 120)
        except (RedisError, OSError) as exc:
            self._away(exc)
            return 0.0
        if opened > self.limits.settings.ip_guest_chats_per_min:
            self.limits.refused("guest_chats")
            return (minute + 1) * 60 - now
        return 0.0

    async def run(self) -> None:
        """Renew the expiry of the addresses this process holds; owned by the supervisor."""
        while True:
            await asyncio.sleep(self.ttl_s / 3)
            if self._redis is None or not self.shared or not self.limits.sockets:
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for address in self.limits.sockets:
                        pipe.expire(f"{self.prefix}.sockets:{address}", self.ttl_s)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                self._away(exc)

    async def close(self) -> None:
        if self._redis is not None:
            await self._redis.aclose()

    async def _counted(self, key: str, ttl_s: int) -> int:
        """INCR and EXPIRE in one MULTI: the new count."""
        assert self._redis is not None
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, ttl_s)
            count, _ = await pipe.execute()
        return int(count)

    def _away(self, exc: Exception) -> None:
        if time.monotonic() >= self._away_until:
            log.warning("caps.redis_away cause=%s", type(exc).__name__)
        self._away_until = time.monotonic() + RETRY_S

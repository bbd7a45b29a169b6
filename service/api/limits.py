"""Limits: the pure rules (token bucket, sliding window) and the per-process state they keep.

Every rule takes ``now`` in seconds from the caller, so the rules are tested without a clock and
the gateways pass the injected clock's time. The per-address state (open sockets, new guest
chats, failed sign-ins) lives in this process; with Redis, service/api/shared_caps.py counts
sockets and guest chats across processes as well (docs/protocol.md, "Limits").
"""

from __future__ import annotations

import functools
import ipaddress
import math
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from service.clock import Clock
from service.settings import Settings

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

# How many characters of a presented token name its throttling key: enough to tell tokens apart,
# never enough to be worth stealing from a log or a memory dump.
PREFIX_CHARS = 12


class TokenBucket:
    """``burst`` tokens, refilled at ``rate`` per second; a take that finds none is refused."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, burst: int, now: float) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._at = now

    def take(self, now: float) -> float:
        """0.0 when a token was taken, else how many seconds until one is there."""
        # A clock stepping back refills nothing (max), one leaping on fills at most the burst.
        elapsed = max(0.0, now - self._at)
        self._tokens = min(float(self.burst), self._tokens + elapsed * self.rate)
        self._at = max(self._at, now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def refund(self) -> None:
        self._tokens = min(float(self.burst), self._tokens + 1.0)


class Window:
    """At most ``limit`` events per key within the last ``span_s`` seconds (a sliding log).

    Memory stays bounded: a key keeps at most ``limit`` times, and keys whose times have all
    expired are dropped as the window is used.
    """

    def __init__(self, limit: int, span_s: float) -> None:
        self.limit = limit
        self.span_s = span_s
        self._times: dict[str, deque[float]] = {}
        self._uses = 0

    def full(self, key: str, now: float) -> float:
        """0.0 when another event fits, else the seconds until the oldest one expires."""
        times = self._expire(key, now)
        if times is None or len(times) < self.limit:
            return 0.0
        return max(0.0, times[0] + self.span_s - now)

    def add(self, key: str, now: float) -> None:
        times = self._expire(key, now)
        if times is None:
            times = self._times[key] = deque(maxlen=self.limit)
        times.append(now)
        self._uses += 1
        if self._uses % 1024 == 0:
            self._sweep(now)

    def hit(self, key: str, now: float) -> float:
        """``full``, and the event counted when it fits."""
        wait = self.full(key, now)
        if wait == 0.0:
            self.add(key, now)
        return wait

    def _expire(self, key: str, now: float) -> deque[float] | None:
        times = self._times.get(key)
        if times is None:
            return None
        while times and times[0] <= now - self.span_s:
            times.popleft()
        return times

    def _sweep(self, now: float) -> None:
        since = now - self.span_s
        stale = [key for key, times in self._times.items() if not times or times[-1] <= since]
        for key in stale:
            del self._times[key]


def networks(text: str) -> tuple[Network, ...]:
    """A comma-separated list of addresses or CIDR blocks (``KEFU_LIMITS_EXEMPT``)."""
    return tuple(
        ipaddress.ip_network(item.strip(), strict=False) for item in text.split(",") if item.strip()
    )


@functools.lru_cache(maxsize=16_384)
def _parsed(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    # Asked several times for every socket that opens (the storm's thousands come from few
    # addresses behind a proxy or a carrier's NAT): parsing was ~1 % of a storm's CPU.
    try:
        return ipaddress.ip_address(address)
    except ValueError:
        return None


def within(address: str, blocks: Iterable[Network]) -> bool:
    ip = _parsed(address)
    return ip is not None and any(ip in block for block in blocks)


def retry_after(seconds: float) -> float:
    """A wait as clients are told it: seconds, rounded up to a tenth, never 0."""
    return max(0.1, math.ceil(seconds * 10) / 10)


@dataclass(slots=True)
class SocketLimiter:
    """One socket's buckets: every frame takes a frame token, a stored line a message token too.

    ``strikes`` counts frames refused in a row (``passed`` clears it); at ``max_strikes`` the
    socket is to be closed. No buckets: an exempt address, never refused.
    """

    frames: TokenBucket | None
    messages: TokenBucket | None
    max_strikes: int = 1
    strikes: int = 0

    def frame(self, now: float) -> float:
        """0.0 when a frame may be read, else the seconds to wait (the frame is refused)."""
        return self._count(self.frames.take(now) if self.frames is not None else 0.0)

    def message(self, now: float) -> float:
        """The same for a frame that stores a line, after ``frame`` let it in."""
        wait = self.messages.take(now) if self.messages is not None else 0.0
        if wait > 0.0 and self.frames is not None:
            self.frames.refund()  # refused frames take nothing: waiting is enough to get in
        return self._count(wait)

    def passed(self) -> None:
        """The frame got through both checks."""
        self.strikes = 0

    @property
    def exhausted(self) -> bool:
        return self.strikes >= self.max_strikes

    def _count(self, wait: float) -> float:
        if wait > 0.0:
            self.strikes += 1
        return wait


@dataclass
class Limits:
    """Per-process limits of one server, all numbers from settings (README, "Limits")."""

    settings: Settings
    clock: Clock
    # Told each refusal by the name of its limit (the kefu_limited_total series).
    refused: Callable[[str], None] = lambda _limit: None
    exempt: tuple[Network, ...] = ()
    sockets: dict[str, int] = field(default_factory=dict)
    guest_chats: Window = field(init=False)
    failed_by_address: Window = field(init=False)
    failed_by_token: Window = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.exempt = networks(s.limits_exempt)
        self.guest_chats = Window(s.ip_guest_chats_per_min, 60.0)
        self.failed_by_address = Window(s.signin_failures_per_ip, s.signin_window_s)
        self.failed_by_token = Window(s.signin_failures_per_token, s.signin_window_s)

    def now(self) -> float:
        return self.clock.now().timestamp()

    def is_exempt(self, address: str) -> bool:
        return bool(self.exempt) and within(address, self.exempt)

    def socket_limiter(self, address: str) -> SocketLimiter:
        if self.is_exempt(address):
            return SocketLimiter(None, None)
        s, now = self.settings, self.now()
        return SocketLimiter(
            TokenBucket(s.rate_frames_per_s, s.rate_frames_burst, now),
            TokenBucket(s.rate_messages_per_s, s.rate_messages_burst, now),
            s.rate_strikes,
        )

    def open_socket(self, address: str) -> bool:
        """Count a socket in; False (and not counted) when the address holds its cap already."""
        if self.is_exempt(address):
            return True
        held = self.sockets.get(address, 0)
        if held >= self.settings.ip_max_sockets:
            self.refused("ip_sockets")
            return False
        self.sockets[address] = held + 1
        return True

    def close_socket(self, address: str) -> None:
        if self.is_exempt(address):
            return
        held = self.sockets.get(address, 0) - 1
        if held > 0:
            self.sockets[address] = held
        else:
            self.sockets.pop(address, None)

    def new_guest_chat(self, address: str) -> float:
        """0.0 when the address may open another guest chat (counted), else the wait."""
        if self.is_exempt(address):
            return 0.0
        wait = self.guest_chats.hit(address, self.now())
        if wait:
            self.refused("guest_chats")
        return wait

    def signin_throttled(self, address: str, token: str | None) -> float:
        """0.0 when a sign-in may be tried, else the wait (checked before the token is)."""
        if self.is_exempt(address):
            return 0.0
        now = self.now()
        wait = self.failed_by_address.full(address, now)
        if token:
            wait = max(wait, self.failed_by_token.full(token_key(token), now))
        if wait:
            self.refused("signin")
        return wait

    def signin_failed(self, address: str, token: str | None) -> None:
        if self.is_exempt(address):
            return
        now = self.now()
        self.failed_by_address.add(address, now)
        if token:
            self.failed_by_token.add(token_key(token), now)


def token_key(token: str) -> str:
    return token[:PREFIX_CHARS]

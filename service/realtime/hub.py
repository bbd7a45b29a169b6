"""The hub: the sockets this process holds, and the ordered, exactly-once delivery to each.

Every socket has a bounded outgoing queue drained by its own task, so a slow client never stalls
a broadcast; a client that falls too far behind is closed (1013) and resumes with ``last_seq``.
Message frames carry ``(chat_id, seq)``: the sender keeps a cursor per chat, drops what the client
already has and fills any gap from the database, so a frame is delivered once and in order even
when events race each other across processes.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any, Literal

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from service.metrics import DeskMetrics
from service.realtime.bus import Bus, Envelope
from service.realtime.protocol import dumps

log = logging.getLogger(__name__)

Audience = Literal["customer", "agent"]
# (chat_id, after_seq, audience) -> the message frames with seq > after_seq, in order
Fill = Callable[[int, int, Audience], Awaitable[list[dict[str, Any]]]]

TOO_SLOW = 1013
SIGNED_OUT = 4403
GOING_AWAY = 1001


@dataclass(frozen=True, slots=True)
class SetCursor:
    chat_id: int
    seq: int


@dataclass(frozen=True, slots=True)
class Sync:
    """Send everything stored after the cursor (on connect, after resume)."""

    chat_id: int


@dataclass(frozen=True, slots=True)
class Close:
    code: int
    reason: str = ""


Item = dict[str, Any] | SetCursor | Sync | Close


class Connection:
    def __init__(
        self,
        websocket: WebSocket,
        audience: Audience,
        fill: Fill,
        limit: int,
        metrics: DeskMetrics | None = None,
    ) -> None:
        self.websocket = websocket
        self.audience = audience
        self.metrics = metrics
        self._fill = fill
        self._queue: asyncio.Queue[Item] = asyncio.Queue(maxsize=limit)
        self._cursors: dict[int, int] = {}
        self._closing = False
        # What the socket signed in with (a token's hash), for the sign-in sweep to compare.
        self.credential: str | None = None

    def offer(self, item: Item) -> None:
        if self._closing:
            return
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            log.warning("socket.too_slow audience=%s", self.audience)
            self.close(TOO_SLOW, "too slow")

    def poll(self) -> None:
        """Fill every chat this socket follows from the database (the bus may have missed some).

        A full queue already holds work that ends in a send, so the poll is skipped there
        rather than closing the socket as too slow.
        """
        for chat_id in tuple(self._cursors):
            if self._closing or self._queue.full():
                return
            self._queue.put_nowait(Sync(chat_id))

    @property
    def closing(self) -> bool:
        """A close was asked for (it goes out after nothing else)."""
        return self._closing

    def close(self, code: int, reason: str = "") -> None:
        """Drop whatever is still queued and close; the client resumes from its last seq."""
        self._closing = True
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(Close(code, reason))

    async def run(self) -> None:
        """Drain the queue onto the socket until closed; owned and cancelled by the gateway."""
        try:
            await self._drain()
        except WebSocketDisconnect:
            # The client went away mid-send: nothing more can reach it. The gateway's receive
            # loop sees the disconnect and cleans up (presence, grace timers) as usual.
            self._closing = True

    async def _drain(self) -> None:
        while True:
            item = await self._queue.get()
            if isinstance(item, Close):
                await self._close(item.code, item.reason)
                return
            if isinstance(item, SetCursor):
                self._cursors[item.chat_id] = item.seq
            elif isinstance(item, Sync):
                await self._sync(item.chat_id)
            elif item.get("type") == "message":
                await self._message(item)
            elif item.get("type") == "assigned" and "history" in item:
                await self._send(self._assigned(item))
            elif item.get("type") == "signed_out":
                await self._send(item)
                await self._close(SIGNED_OUT, item.get("reason", ""))
                return
            else:
                await self._send(item)

    def _assigned(self, frame: dict[str, Any]) -> dict[str, Any]:
        """A chat (re)assigned here: its history, less what this socket already delivered."""
        chat_id = frame["chat_id"]
        cursor = self._cursors.get(chat_id, 0)
        self._cursors[chat_id] = max(cursor, frame["last_seq"])
        if cursor == 0:
            return frame
        return {**frame, "history": [m for m in frame["history"] if m["seq"] > cursor]}

    async def _message(self, frame: dict[str, Any]) -> None:
        chat_id, seq = frame["chat_id"], frame["seq"]
        cursor = self._cursors.get(chat_id)
        if cursor is not None:
            if seq <= cursor:
                return
            if seq > cursor + 1:
                await self._sync(chat_id, until=seq)
                if self._cursors[chat_id] >= seq:
                    return
        self._cursors[chat_id] = seq
        await self._send(frame)

    async def _sync(self, chat_id: int, until: int | None = None) -> None:
        after = self._cursors.get(chat_id, 0)
        for frame in await self._fill(chat_id, after, self.audience):
            if self._closing:  # a close (shutdown, too slow) waits for no long fill
                return
            if until is not None and frame["seq"] > until:
                break
            self._cursors[chat_id] = frame["seq"]
            await self._send(frame)

    async def _send(self, frame: dict[str, Any]) -> None:
        try:
            text = dumps(frame)
            text.encode()
        except (TypeError, ValueError) as exc:
            # A frame that cannot be sent is dropped, not fatal: this task is the socket's only
            # voice, and dying here would leave the client deaf for good.
            log.error(
                "socket.unsendable audience=%s type=%r: %s",
                self.audience,
                str(frame.get("type"))[:40],
                type(exc).__name__,
            )
            return
        await self.websocket.send_text(text)
        if self.metrics is not None:
            kind = str(frame.get("type"))
            self.metrics.count_out(self.audience, kind)
            if kind == "error":
                self.metrics.count_error(str(frame.get("code")))

    async def _close(self, code: int, reason: str) -> None:
        if self.websocket.application_state is not WebSocketState.DISCONNECTED:
            await self.websocket.close(code, reason)


class Hub:
    def __init__(self, bus: Bus) -> None:
        self._bus = bus
        self._sockets: defaultdict[str, set[Connection]] = defaultdict(set)
        # Sockets gone from here whose departure is not written yet (``departed`` ends it).
        self._leaving: defaultdict[str, int] = defaultdict(int)
        self._all_gone: asyncio.Event | None = None  # set when the last socket leaves
        # Sockets signing in (their hello read, not registered yet), and the close code of a
        # graceful stop under way: a socket that registers during one is closed with it too.
        self._opening = 0
        self._stopping: int | None = None

    @contextmanager
    def opening(self) -> Iterator[None]:
        """A socket between its hello and its registration: a graceful stop waits for it, so
        it hears 1001 like the others rather than uvicorn's 1012."""
        self._opening += 1
        try:
            yield
        finally:
            self._opening -= 1
            self._gone_if_empty()

    def register(self, address: str, connection: Connection) -> None:
        self._sockets[address].add(connection)
        if self._stopping is not None:
            connection.close(self._stopping, "server shutting down")

    def unregister(self, address: str, connection: Connection) -> None:
        sockets = self._sockets.get(address)
        if sockets is not None and connection in sockets:
            sockets.discard(connection)
            if not sockets:
                del self._sockets[address]
            self._leaving[address] += 1
        self._gone_if_empty()

    def _gone_if_empty(self) -> None:
        if self._all_gone is not None and not self._sockets and not self._opening:
            self._all_gone.set()

    def departed(self, address: str) -> None:
        """The departure of a socket unregistered from ``address`` is written (or given up)."""
        if self._leaving.get(address, 0) > 1:
            self._leaving[address] -= 1
        else:
            self._leaving.pop(address, None)

    def deliver(self, envelope: Envelope) -> None:
        for address in envelope.to:
            for connection in tuple(self._sockets.get(address, ())):
                connection.offer(envelope.frame)

    def counts(self) -> dict[str, int]:
        """Sockets held here, by audience ("customer", "agent")."""
        counts = {"customer": 0, "agent": 0}
        for address, sockets in self._sockets.items():
            audience = address.partition(":")[0]
            counts[audience] = counts.get(audience, 0) + len(sockets)
        return counts

    def held(self) -> dict[str, int]:
        """Sockets counted as this process's, by address: those held here and those gone whose
        departure is not written yet (it will count them out)."""
        held = dict(self._leaving)
        for address, sockets in self._sockets.items():
            held[address] = held.get(address, 0) + len(sockets)
        return {address: n for address, n in held.items() if n > 0}

    def sockets_of(self, audience: str) -> dict[str, tuple[Connection, ...]]:
        """The sockets held here for one audience ("agent", "customer"), by address."""
        return {
            address: tuple(sockets)
            for address, sockets in self._sockets.items()
            if sockets and address.partition(":")[0] == audience
        }

    def close_address(self, address: str, code: int, reason: str = "") -> None:
        for connection in tuple(self._sockets.get(address, ())):
            connection.close(code, reason)

    def close_all(self, code: int = GOING_AWAY) -> None:
        for sockets in self._sockets.values():
            for connection in sockets:
                connection.close(code, "server shutting down")

    async def close_all_and_wait(self, timeout_s: float, code: int = GOING_AWAY) -> None:
        """Close every socket with ``code`` and wait (at most ``timeout_s``) until all are gone,
        those signing in now included."""
        self._stopping = code
        if not self._sockets and not self._opening:
            return
        self._all_gone = asyncio.Event()
        self.close_all(code)
        with suppress(TimeoutError):
            await asyncio.wait_for(self._all_gone.wait(), timeout_s)

    def poll_all(self) -> None:
        for sockets in self._sockets.values():
            for connection in sockets:
                connection.poll()

    async def run(self) -> None:
        """Move every published envelope to the local sockets; owned by the app's supervisor.

        The bus reconnects by itself (``next_published`` waits through an outage), so only a
        fault of ours ends this loop.
        """
        while True:
            envelope = await self._bus.next_published()
            try:
                self.deliver(envelope)
            except Exception:
                log.exception("hub.deliver_failed")

    async def run_gap_fill(self, interval_s: float) -> None:
        """While the bus is down, and once after it is back, fill every socket from the database.

        The bus carries wake-ups, not truth: what it lost, each socket's cursor reads from the
        store (docs/design.md, "When Redis is away").
        """
        seen, behind = self._bus.outages, False
        while True:
            await asyncio.sleep(interval_s)
            up, outages = self._bus.up, self._bus.outages
            if not up or behind or outages != seen:
                self.poll_all()
            behind, seen = not up, outages

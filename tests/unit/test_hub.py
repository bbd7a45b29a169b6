"""The per-socket delivery rules: once, in order, gaps filled from the store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from service.realtime.bus import MemoryBus
from service.realtime.hub import Connection, Hub, SetCursor, Sync


class RecordingSocket:
    """Stands in for the network end of one socket; the rules under test are ours."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        from starlette.websockets import WebSocketState

        self.application_state = WebSocketState.CONNECTED
        self.closed_with: int | None = None

    async def send_text(self, text: str) -> None:
        self.sent.append(json.loads(text))

    async def close(self, code: int, reason: str = "") -> None:
        self.closed_with = code


def message(seq: int, chat_id: int = 1) -> dict[str, Any]:
    return {"type": "message", "chat_id": chat_id, "seq": seq, "text": f"m{seq}"}


class Store:
    def __init__(self, last: int) -> None:
        self.messages = [message(seq) for seq in range(1, last + 1)]
        self.reads = 0

    async def fill(self, chat_id: int, after: int, audience: str) -> list[dict[str, Any]]:
        self.reads += 1
        return [m for m in self.messages if m["chat_id"] == chat_id and m["seq"] > after]


async def run(connection: Connection, socket: RecordingSocket) -> None:
    task = asyncio.create_task(connection.run())
    for _ in range(50):
        await asyncio.sleep(0)
    task.cancel()


def seqs(socket: RecordingSocket) -> list[int]:
    return [frame["seq"] for frame in socket.sent if frame["type"] == "message"]


async def test_sync_sends_everything_after_the_cursor_then_drops_repeats() -> None:
    socket, store = RecordingSocket(), Store(last=5)
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer(SetCursor(1, 2))
    connection.offer(Sync(1))
    connection.offer(message(4))  # a live event that raced the replay
    connection.offer(message(6))
    await run(connection, socket)
    assert seqs(socket) == [3, 4, 5, 6]


async def test_a_gap_is_filled_from_the_store_in_order() -> None:
    socket, store = RecordingSocket(), Store(last=4)
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer(SetCursor(1, 1))
    connection.offer(message(4))  # 2 and 3 committed but their events arrive late
    connection.offer(message(2))
    connection.offer(message(3))
    await run(connection, socket)
    assert seqs(socket) == [2, 3, 4]
    assert store.reads == 1


async def test_assigned_history_skips_what_was_already_delivered() -> None:
    socket, store = RecordingSocket(), Store(last=0)
    connection = Connection(socket, "agent", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer(SetCursor(1, 2))
    connection.offer(
        {
            "type": "assigned",
            "chat_id": 1,
            "last_seq": 3,
            "history": [message(1), message(2), message(3)],
        }
    )
    connection.offer(message(3))
    await run(connection, socket)
    assert [m["seq"] for m in socket.sent[0]["history"]] == [3]
    assert seqs(socket) == []


async def test_a_client_too_slow_is_closed_and_not_fed() -> None:
    socket, store = RecordingSocket(), Store(last=0)
    connection = Connection(socket, "customer", store.fill, limit=2)  # type: ignore[arg-type]
    for seq in range(1, 5):
        connection.offer(message(seq))
    await run(connection, socket)
    assert socket.closed_with == 1013
    assert socket.sent == []


class VanishingSocket(RecordingSocket):
    """A client that is gone by the time its frames are sent."""

    async def send_text(self, text: str) -> None:
        from starlette.websockets import WebSocketDisconnect

        raise WebSocketDisconnect(1006)


async def test_a_client_gone_mid_send_ends_the_sender_quietly() -> None:
    socket, store = VanishingSocket(), Store(last=3)
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer(Sync(1))
    task = asyncio.create_task(connection.run())
    await asyncio.wait_for(task, 1)
    # Finished without raising, so the gateway goes on to record that the customer left.
    assert task.exception() is None
    connection.offer(message(4))  # later events for it are dropped, not queued
    assert connection._queue.empty()


async def test_a_poll_sends_what_was_stored_while_the_bus_lost_it() -> None:
    socket, store = RecordingSocket(), Store(last=2)
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer(SetCursor(1, 0))
    connection.offer(Sync(1))
    await run(connection, socket)
    store.messages += [message(3), message(4)]  # stored on another process, never published
    connection.poll()
    await run(connection, socket)
    assert seqs(socket) == [1, 2, 3, 4]


async def test_a_poll_never_closes_a_socket_whose_queue_is_full() -> None:
    socket, store = RecordingSocket(), Store(last=0)
    connection = Connection(socket, "customer", store.fill, limit=2)  # type: ignore[arg-type]
    connection.offer(SetCursor(1, 0))
    await run(connection, socket)
    connection.offer(message(1))
    connection.offer(message(2))
    connection.poll()
    await run(connection, socket)
    assert socket.closed_with is None
    assert seqs(socket) == [1, 2]


async def test_an_unsendable_frame_is_dropped_and_the_sender_goes_on() -> None:
    socket, store = RecordingSocket(), Store(last=0)
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    connection.offer({"type": "error", "code": "bad_frame", "message": "x", "ref": "\ud800"})
    connection.offer({"type": "error", "code": "bad_frame", "message": "after"})
    await run(connection, socket)
    assert socket.sent == [{"type": "error", "code": "bad_frame", "message": "after"}]


def test_held_counts_a_socket_until_its_departure_is_written() -> None:
    """A rejoin counts in what ``held`` says: a socket gone from the hub whose close is not
    written yet is still counted (the close will count it out), then no more."""
    hub, store = Hub(MemoryBus()), Store(last=0)
    first, second = (
        Connection(RecordingSocket(), "agent", store.fill, limit=10)  # type: ignore[arg-type]
        for _ in range(2)
    )
    hub.register("agent:7", first)
    hub.register("agent:7", second)
    assert hub.held() == {"agent:7": 2}
    hub.unregister("agent:7", first)
    hub.unregister("agent:7", first)  # twice: counted once
    assert hub.held() == {"agent:7": 2}
    assert hub.counts() == {"customer": 0, "agent": 1}
    hub.departed("agent:7")
    assert hub.held() == {"agent:7": 1}
    hub.unregister("agent:7", second)
    hub.departed("agent:7")
    assert hub.held() == {}


async def test_a_graceful_stop_waits_for_a_socket_signing_in_and_closes_it_with_1001() -> None:
    """A socket whose hello is being written when the stop begins hears 1001 like the others
    (not uvicorn's 1012 once the wait is over): the stop waits for it to register."""
    hub, store, socket = Hub(MemoryBus()), Store(last=0), RecordingSocket()
    connection = Connection(socket, "customer", store.fill, limit=10)  # type: ignore[arg-type]
    with hub.opening():
        stop = asyncio.create_task(hub.close_all_and_wait(5.0))
        await asyncio.sleep(0)
        assert not stop.done(), "the stop waits for the socket signing in"
        hub.register("customer:1", connection)  # its hello committed during the stop
    await run(connection, socket)
    assert socket.closed_with == 1001
    assert not stop.done()
    hub.unregister("customer:1", connection)
    await asyncio.wait_for(stop, 1.0)


async def test_a_stop_with_nobody_signing_in_returns_at_once() -> None:
    await asyncio.wait_for(Hub(MemoryBus()).close_all_and_wait(5.0), 0.5)

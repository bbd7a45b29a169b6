"""What both socket gateways share: the hello handshake and the guarded frame loop.

A bad frame gets a typed ``error`` frame and changes nothing; the socket stays open. Only a
missing or invalid hello (4401) or a rejected identity (4403) closes it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any, TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from service.db.engine import is_database_down
from service.errors import BadFrame, Forbidden, KefuError, Unauthorized, Unavailable
from service.realtime.hub import Connection
from service.realtime.inspect import safe_ref
from service.realtime.protocol import Parser, describe, error_frame
from service.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
SERVER_ERROR = 1011


# RFC 6455: a close frame's reason is at most 123 bytes of UTF-8.
MAX_REASON_BYTES = 123


def reason(text: str) -> str:
    """A close reason that fits: cut to 123 bytes on a character boundary, unencodable
    characters replaced (a reason that does not fit makes the close itself fail)."""
    encoded = text.encode("utf-8", "replace")[:MAX_REASON_BYTES]
    return encoded.decode("utf-8", "ignore")


Endpoint = Callable[[WebSocket], Awaitable[None]]


def guarded(endpoint: Endpoint) -> Endpoint:
    """A fault anywhere in a gateway closes its socket with 1011, as contract v1 says.

    uvicorn, left with the exception, would drop the TCP connection: the client saw 1006.
    """

    @functools.wraps(endpoint)
    async def run(websocket: WebSocket) -> None:
        try:
            await endpoint(websocket)
        except Exception:
            log.exception("socket.fault")
            if websocket.application_state is WebSocketState.CONNECTED:
                with suppress(Exception):  # the client may be gone as well
                    await websocket.close(SERVER_ERROR, "server error")

    return run


def close_code(error: KefuError) -> int:
    return FORBIDDEN if isinstance(error, Forbidden) else UNAUTHENTICATED


async def receive_hello(
    websocket: WebSocket, adapter: TypeAdapter[T], settings: Settings
) -> T | None:
    """The first frame must be a valid hello within the timeout; otherwise close with 4401."""
    try:
        message = await asyncio.wait_for(websocket.receive(), settings.hello_timeout_s)
    except TimeoutError:
        await websocket.close(UNAUTHENTICATED, "hello expected")
        return None
    if message["type"] == "websocket.disconnect":
        return None
    raw = message.get("text") or message.get("bytes") or ""
    parser: Parser[T] = Parser(adapter, frozenset({"hello"}), settings.max_frame_bytes)
    try:
        return parser.command(parser.decode(raw))
    except BadFrame as exc:
        await websocket.close(UNAUTHENTICATED, reason(f"invalid hello: {exc.message}"))
        return None
    except ValidationError as exc:  # pragma: no cover - Parser wraps these
        await websocket.close(UNAUTHENTICATED, reason(describe(exc)))
        return None


async def reject(websocket: WebSocket, error: Unauthorized | Forbidden) -> None:
    log.info("socket.rejected code=%s", error.code)
    await websocket.close(close_code(error), reason(error.message))


async def serve_frames(
    websocket: WebSocket,
    connection: Connection,
    parser: Parser[C],
    handle: Callable[[C], Awaitable[None]],
) -> None:
    """Read frames until the client goes; each one is handled or answered with an error."""
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        raw = message.get("text") or message.get("bytes") or ""
        ref: str | None = None
        try:
            data = parser.decode(raw)
            # Echoed only if it can be sent back: an unencodable ref would poison the error frame.
            ref = safe_ref(data.get("client_id"))
            command = parser.command(data)
            if connection.metrics is not None:
                connection.metrics.count_in(connection.audience, str(data["type"]))
            try:
                await handle(command)
            except IntegrityError:
                # Two copies of one frame raced on a unique key; the retry sees the winner.
                await handle(command)
        except KefuError as exc:
            connection.offer(error_frame(exc.code, exc.message, ref, **exc.extra))
        except Exception as exc:
            if is_database_down(exc):
                # Nothing was stored (no ack went out): the client sends the frame again.
                log.warning("socket.database_down error=%s", type(exc).__name__)
                down = Unavailable("the database is not answering; send the frame again")
                connection.offer(error_frame(down.code, down.message, ref))
                continue
            log.exception("socket.fault")
            connection.close(SERVER_ERROR, "server error")
            return


async def bookkeep(step: Callable[[], Awaitable[None]], what: str, give_up_s: float) -> None:
    """A socket's departure, written even when the database is away for a moment.

    Lost, it would leave a socket count too high for good (the agent never "gone", their chats
    never back in the queue), so it is retried with backoff while the database is down.
    """
    deadline, delay = asyncio.get_running_loop().time() + give_up_s, 0.1
    while True:
        try:
            await step()
            return
        except Exception as exc:
            late = asyncio.get_running_loop().time() + delay > deadline
            if not is_database_down(exc) or late:
                log.error("socket.bookkeeping_lost what=%s", what, exc_info=exc)
                return
        await asyncio.sleep(delay)
        delay = min(delay * 2, 2.0)


def ready_frame(**fields: Any) -> dict[str, Any]:
    return {"type": "ready", **fields}

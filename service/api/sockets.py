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
from typing import TypeVar

from pydantic import TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from service.api.limits import Limits, SocketLimiter, retry_after
from service.db.engine import is_database_down
from service.errors import BadFrame, Forbidden, KefuError, RateLimited, Unauthorized, Unavailable
from service.realtime.hub import Connection
from service.realtime.inspect import safe_ref
from service.realtime.protocol import Parser, describe, error_frame
from service.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")
C = TypeVar("C")

UNAUTHENTICATED = 4401
FORBIDDEN = 4403
TOO_MANY = 4429  # failed sign-ins, sockets or new chats from one address (docs/protocol.md)
POLICY = 1008  # a socket that kept sending over its rate
SERVER_ERROR = 1011
# How long a socket that is done waits for its close frame to go out before its sender stops.
CLOSE_WAIT_S = 1.0
# The frames that store a line: each takes a message token as well as a frame token.
STORING = frozenset({"message", "template", "note", "correct"})


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


def client_address(websocket: WebSocket) -> str:
    """The client's address; behind a trusted proxy its X-Forwarded-For (uvicorn's doing)."""
    return websocket.client.host if websocket.client is not None else ""


def limited(endpoint: Endpoint) -> Endpoint:
    """A browser from an origin not allowed is refused before the upgrade (HTTP 403); an
    address holding KEFU_IP_MAX_SOCKETS sockets (in Redis: in every process) gets its next one
    closed 4429."""

    @functools.wraps(endpoint)
    async def run(websocket: WebSocket) -> None:
        runtime = websocket.app.state.runtime
        headers = websocket.headers
        if not runtime.origins.allows(headers.get("origin"), headers.get("host")):
            log.info("socket.origin_refused address=%s", client_address(websocket))
            runtime.limits.refused("origin")
            await websocket.close(POLICY)  # not accepted yet: the browser is answered 403
            return
        address = client_address(websocket)
        # Counted across processes when Redis is configured (service/api/shared_caps.py).
        ticket = await runtime.caps.open_socket(address)
        if ticket is None:
            log.info("socket.too_many address=%s", address)
            await websocket.accept()
            await websocket.close(TOO_MANY, "too many sockets from this address")
            return
        try:
            await endpoint(websocket)
        finally:
            await runtime.caps.close_socket(ticket)

    return run


async def throttled(websocket: WebSocket, limits: Limits, key: str | None) -> bool:
    """Closes 4429 (and says True) while the address or the token has failed too often;
    checked before the credentials are, so a guess right or wrong learns nothing."""
    address = client_address(websocket)
    wait = limits.signin_throttled(address, key)
    if wait == 0.0:
        return False
    log.info("socket.signin_throttled address=%s", address)
    after = retry_after(wait)
    await websocket.close(TOO_MANY, reason(f"too many failed sign-ins; retry in {after} s"))
    return True


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


def over_rate(wait: float, what: str) -> RateLimited:
    after = retry_after(wait)
    return RateLimited(f"too many {what}; send again in {after} s", retry_after=after)


async def serve_frames(
    websocket: WebSocket,
    connection: Connection,
    parser: Parser[C],
    handle: Callable[[C], Awaitable[None]],
    limiter: SocketLimiter | None = None,
    now: Callable[[], float] | None = None,
) -> None:
    """Read frames until the client goes; each one is handled or answered with an error.

    With a ``limiter``, a frame over the socket's rate is answered ``rate_limited`` and not
    handled; one that keeps on closes the socket (1008).
    """
    closing = False
    while True:
        try:
            message = await websocket.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        if closing:
            continue  # the sender closes the socket; what still arrives is read, not handled
        raw = message.get("text") or message.get("bytes") or ""
        ref: str | None = None
        try:
            if limiter is not None and now is not None and (wait := limiter.frame(now())):
                raise over_rate(wait, "frames")
            data = parser.decode(raw)
            # Echoed only if it can be sent back: an unencodable ref would poison the error frame.
            ref = safe_ref(data.get("client_id"))
            if (
                limiter is not None
                and now is not None
                and data.get("type") in STORING
                and (wait := limiter.message(now()))
            ):
                raise over_rate(wait, "messages")
            if limiter is not None:
                limiter.passed()
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
            if limiter is not None and limiter.exhausted:
                log.info("socket.rate_closed strikes=%s", limiter.strikes)
                if connection.metrics is not None:
                    connection.metrics.count_limited("socket_rate")
                connection.close(POLICY, "rate limit exceeded")
                closing = True
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


async def stop_sending(connection: Connection, sender: asyncio.Task[None]) -> None:
    """The socket is done: a close its sender was asked to send (1011 after a fault, 1008,
    4429, …) goes out first, within a second, then the sender stops."""
    if connection.closing and not sender.done():
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(sender), CLOSE_WAIT_S)
    sender.cancel()
    with suppress(asyncio.CancelledError):
        await sender


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



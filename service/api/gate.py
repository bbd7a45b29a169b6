"""The admin API's front door: a body too large, a request without a valid token or one
whose role may not use the route is refused before any of the body is read, and a body no
field may hold before it is parsed. An address or a token prefix that failed too often is
answered 429 before its token is even looked at; a body that does not arrive within
KEFU_BODY_TIMEOUT_S is answered 408.

FastAPI reads and decodes the body before it runs dependencies, so ``authorize`` alone
would answer a 100 MB body (read whole) or a garbled one (422) ahead of the 401 or 403.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Callable
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import roles
from service.api.limits import retry_after
from service.api.problems import problem
from service.errors import (
    BadFrame,
    BodyTooLarge,
    KefuError,
    RateLimited,
    RequestTimeout,
    Unauthorized,
)
from service.realtime.inspect import check_depth, check_value, refuse_constant, unstorable
from service.runtime import Runtime
from service.tokens.service import Caller, caller_of

log = logging.getLogger(__name__)
PREFIX = "/api/v1"


class AdminGate:
    def __init__(self, app: ASGIApp, runtime: Callable[[], Runtime]) -> None:
        self.app = app
        self._runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        runtime = self._runtime()
        limit = runtime.settings.max_body_kb * 1024
        headers = Headers(scope=scope)
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await too_large(limit)(scope, receive, send)
            return
        address = scope["client"][0] if scope.get("client") else ""
        token = bearer_token(headers.get("authorization", ""))
        if wait := runtime.limits.signin_throttled(address, token):
            log.info("http.signin_throttled address=%s", address)
            await throttled(wait)(scope, receive, send)
            return
        try:
            caller = await self._caller(runtime, token)
        except Exception:  # the database is away: the same answer as any other fault
            log.exception("http.fault")
            await problem(500, "internal", "the server failed; the fault is logged")(
                scope, receive, send
            )
            return
        if caller is None:
            if token is not None:
                runtime.limits.signin_failed(address, token)
            given = headers.get("authorization")
            unauthorized = Unauthorized(
                "unknown bearer token" if given else "a bearer token is required"
            )
            await answer(unauthorized)(scope, receive, send)
            return
        found = roles.rule_for(scope["method"], path)
        if found is not None and not found[1].allows(caller.role):
            # The role, too, before the body: service/api/roles.py has the table.
            await answer(roles.forbidden(caller.role, scope["method"], found[0]))(
                scope, receive, send
            )
            return
        scope.setdefault("state", {})["caller"] = caller
        for where, text in (("path", path), ("query", query_text(scope))):
            if (reason := unstorable(text)) is not None:
                await invalid(where, f"{reason} not allowed")(scope, receive, send)
                return
        timeout_s = runtime.settings.body_timeout_s
        try:
            body = await asyncio.wait_for(read_body(receive, limit), timeout_s)
        except BodyTooLarge:
            await too_large(limit)(scope, receive, send)
            return
        except TimeoutError:
            log.info("http.body_timeout address=%s", address)
            runtime.limits.refused("body_timeout")
            await answer(RequestTimeout(f"the body did not arrive within {timeout_s} s"))(
                scope, receive, send
            )
            return
        if body and "json" in headers.get("content-type", ""):
            refusal = refuse_json(body)
            if refusal is not None:
                await invalid("body", refusal)(scope, receive, send)
                return
        await self.app(scope, replay(body, receive), send)

    async def _caller(self, runtime: Runtime, token: str | None) -> Caller | None:
        if token is None:
            return None
        async with runtime.units.read() as session:
            return await caller_of(session, token, runtime.settings.admin_token)


def bearer_token(authorization: str) -> str | None:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def throttled(wait: float) -> ASGIApp:
    after = retry_after(wait)
    error = RateLimited(f"too many failed sign-ins; retry in {after} s", retry_after=after)
    response = problem(error.status, error.code, error.message, **error.extra)
    response.headers["Retry-After"] = str(math.ceil(after))
    return response


def query_text(scope: Scope) -> str:
    # Invalid UTF-8 in a percent escape decodes to surrogates, refused like a NUL.
    return unquote(scope.get("query_string", b"").decode("latin-1"), errors="surrogateescape")


async def read_body(receive: Receive, limit: int) -> bytes:
    """The whole body, counted as it arrives: a chunked body has no Content-Length to check."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body is over {limit} bytes")
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def refuse_json(body: bytes) -> str | None:
    """Why a JSON body is refused before any model sees it (the frames' rules), or None."""
    try:
        text = body.decode()
        check_depth(text)
        check_value(json.loads(text, parse_constant=refuse_constant), "body")
    except BadFrame as exc:
        return exc.message
    except ValueError:
        return None  # not JSON at all: FastAPI answers that with its own 422
    return None


def replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return again


def answer(error: KefuError) -> ASGIApp:
    return problem(error.status, error.code, error.message, **error.extra)


def too_large(limit: int) -> ASGIApp:
    return answer(BodyTooLarge(f"the body is over {limit} bytes (KEFU_MAX_BODY_KB)"))


def invalid(where: str, message: str) -> ASGIApp:
    """The same body as a schema failure (service/api/problems.py), found before parsing."""
    error = {"loc": [where], "msg": message, "type": "value_error"}
    return problem(422, "invalid_request", "the request does not match its schema", errors=[error])

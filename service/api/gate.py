"""The admin API's front door: a body too large, a request without a valid token or one
whose role may not use the route is refused before any of the body is read, and a body no
field may hold before it is parsed.

FastAPI reads and decodes the body before it runs dependencies, so ``authorize`` alone
would answer a 100 MB body (read whole) or a garbled one (422) ahead of the 401 or 403.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.api import roles
from service.api.problems import problem
from service.errors import BadFrame, BodyTooLarge, KefuError, Unauthorized
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
        try:
            caller = await self._caller(runtime, headers.get("authorization", ""))
        except Exception:  # the database is away: the same answer as any other fault
            log.exception("http.fault")
            await problem(500, "internal", "the server failed; the fault is logged")(
                scope, receive, send
            )
            return
        if caller is None:
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
        try:
            body = await read_body(receive, limit)
        except BodyTooLarge:
            await too_large(limit)(scope, receive, send)
            return
        if body and "json" in headers.get("content-type", ""):
            refusal = refuse_json(body)
            if refusal is not None:
                await invalid("body", refusal)(scope, receive, send)
                return
        await self.app(scope, replay(body, receive), send)

    async def _caller(self, runtime: Runtime, authorization: str) -> Caller | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        async with runtime.units.read() as session:
            return await caller_of(session, token.strip(), runtime.settings.admin_token)


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

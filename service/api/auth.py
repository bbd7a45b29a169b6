"""Sign-in on every /api/v1 route: ``Authorization: Bearer <token>`` names a caller.

service/api/gate.py finds the caller before the body is read; service/api/roles.py decides
what that caller's role may do.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import Unauthorized
from service.runtime import Runtime
from service.tokens.service import Caller, caller_of

bearer = HTTPBearer(
    auto_error=False,
    description="An admin or supervisor token, or an agent's own token (docs/admin.md)",
)


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def signed_in(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    caller: Caller | None = getattr(request.state, "caller", None)
    if caller is not None:
        return caller  # service/api/gate.py checked the token before the body was read
    if credentials is None:
        raise Unauthorized("a bearer token is required")
    runtime = runtime_of(request)
    async with runtime.units.read() as session:
        caller = await caller_of(session, credentials.credentials, runtime.settings.admin_token)
    if caller is None:
        raise Unauthorized("unknown bearer token")
    request.state.caller = caller
    return caller


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
CallerDep = Annotated[Caller, Depends(signed_in)]

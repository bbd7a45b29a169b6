"""Admin authentication: ``Authorization: Bearer <token>`` on every /api/v1 route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.admins import is_admin
from service.errors import Unauthorized
from service.runtime import Runtime

bearer = HTTPBearer(auto_error=False, description="An admin token")


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def require_admin(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    if credentials is None:
        raise Unauthorized("an admin bearer token is required")
    runtime = runtime_of(request)
    async with runtime.units.read() as session:
        if not await is_admin(session, credentials.credentials, runtime.settings.admin_token):
            raise Unauthorized("unknown admin token")


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]

"""Admin authentication: ``Authorization: Bearer <token>`` on every /api/v1 route."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.admins import admin_name
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
    if getattr(request.state, "admin", None) is not None:
        return  # service/api/gate.py checked the token before the body was read
    if credentials is None:
        raise Unauthorized("an admin bearer token is required")
    runtime = runtime_of(request)
    async with runtime.units.read() as session:
        name = await admin_name(session, credentials.credentials, runtime.settings.admin_token)
    if name is None:
        raise Unauthorized("unknown admin token")
    request.state.admin = name


def admin_of(request: Request) -> str:
    """The name of the admin token of this request (set by ``require_admin``)."""
    name: str = request.state.admin
    return name


RuntimeDep = Annotated[Runtime, Depends(runtime_of)]
AdminDep = Annotated[str, Depends(admin_of)]

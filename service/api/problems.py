"""The one place errors become HTTP answers: RFC 9457 problem details, never a bare 500."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException

from service.errors import KefuError

log = logging.getLogger(__name__)
PROBLEM = "application/problem+json"


class Problem(BaseModel):
    """The body of every refusal; some carry more (``errors``, ``retry_after``, ``reason``)."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str
    title: str
    status: int
    code: str
    detail: str


WHEN = {
    400: "the request cannot be taken as it is",
    401: "no bearer token, or one nobody holds (`unauthorized`)",
    403: "the caller may not use this route or this row (docs/admin.md)",
    404: "no such row, or not one the caller may see",
    408: "the body did not arrive in time (`request_timeout`)",
    409: "the row is not in a state that allows this",
    410: "the link has expired",
    413: "the body is over its limit",
    415: "the file's type is not one kefu keeps",
    422: "the request does not match its schema, or a value is refused",
    429: "too many failed sign-ins from this address or token (`Retry-After`)",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI ``responses`` for these refusals: each a problem+json body."""
    schema = Problem.model_json_schema()
    return {
        status: {"description": WHEN[status], "content": {PROBLEM: {"schema": schema}}}
        for status in statuses
    }


def problem(status: int, code: str, detail: str, **extra: Any) -> JSONResponse:
    body = {
        "type": f"https://kefu.dev/problems/{code}",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "code": code,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(KefuError)
    async def kefu_error(_request: Request, exc: KefuError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.message, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors()
        ]
        return problem(
            422, "invalid_request", "the request does not match its schema", errors=errors
        )

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = HTTPStatus(exc.status_code).phrase.lower().replace(" ", "_")
        return problem(exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def fault(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("http.fault", exc_info=exc)
        return problem(500, "internal", "the server failed; the fault is logged")

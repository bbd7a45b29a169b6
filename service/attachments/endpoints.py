"""/media: uploads with the socket's credentials, the chat's files with fresh links, the files.

Outside /api/v1 (the admin gate): customers and agents present their own bearer tokens here,
the chat's resume token or their agent token; admin tokens work too.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials

from service.api.auth import RuntimeDep, bearer
from service.api.problems import documented
from service.attachments.media import IMAGES
from service.attachments.schemas import AttachmentList, AttachmentOut
from service.errors import RequestTimeout, UploadTooLarge
from service.realtime.protocol import RowId
from service.security import MAX_TS

log = logging.getLogger(__name__)
# A missing or foreign token, an unknown chat, a bad or expired link, a body too slow, a file
# too large or of a type not kept: each a problem+json body.
router = APIRouter(
    prefix="/media",
    tags=["attachments"],
    responses=documented(400, 401, 403, 404, 408, 410, 413, 415, 422),
)


async def token_of(request: Request) -> str | None:
    credentials: HTTPAuthorizationCredentials | None = await bearer(request)
    return credentials.credentials.strip() if credentials is not None else None


async def read_upload(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it is over the limit (a Content-Length says so at once)."""
    length = request.headers.get("content-length")
    too_large = UploadTooLarge(f"files may be at most {limit} bytes (KEFU_MAX_UPLOAD_MB)")
    if length is not None and (not length.isdigit() or int(length) > limit):
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/chats/{chat_id}", status_code=201, response_model=AttachmentOut)
async def upload(
    chat_id: RowId,
    request: Request,
    response: Response,
    runtime: RuntimeDep,
    name: Annotated[str | None, Query(max_length=200)] = None,
) -> dict[str, Any]:
    """Upload one file (the raw bytes as the body) to send in the chat's next message."""
    attachments = runtime.attachments
    viewer = await attachments.who(await token_of(request))
    await attachments.check_upload(viewer, chat_id)
    # A body announced and sent slowly holds a connection and memory: cut off after the bound.
    timeout_s = runtime.settings.upload_timeout_s
    try:
        data = await asyncio.wait_for(read_upload(request, attachments.max_bytes), timeout_s)
    except TimeoutError:
        log.info("media.upload_timeout chat=%s", chat_id)
        runtime.limits.refused("body_timeout")
        raise RequestTimeout(f"the file did not arrive within {timeout_s} s") from None
    response.headers["Cache-Control"] = "no-store"  # a link is a credential while it lasts
    return await attachments.upload(viewer, chat_id, name, data)


@router.get("/chats/{chat_id}", response_model=AttachmentList)
async def chat_files(
    chat_id: RowId, request: Request, response: Response, runtime: RuntimeDep
) -> dict[str, Any]:
    """The chat's sent files, each with a fresh link."""
    attachments = runtime.attachments
    viewer = await attachments.who(await token_of(request))
    response.headers["Cache-Control"] = "no-store"
    return {"items": await attachments.of_chat(viewer, chat_id)}


@router.get("/files/{attachment_id}", response_class=Response)
async def file(
    attachment_id: RowId,
    runtime: RuntimeDep,
    exp: Annotated[int, Query(ge=0, le=MAX_TS)],
    sig: Annotated[str, Query(min_length=1, max_length=128)],
) -> Response:
    """A file, for whoever holds a link that is signed and not expired."""
    found = await runtime.attachments.file(attachment_id, exp, sig)
    disposition = "inline" if found.content_type in IMAGES else "attachment"
    left = max(0, exp - int(runtime.clock.now().timestamp()))
    return Response(
        found.data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(found.name)}",
            "Cache-Control": f"private, max-age={left}",
            # Whatever a file holds, it runs nothing on kefu's origin.
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )

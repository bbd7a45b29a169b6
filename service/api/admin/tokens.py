"""/api/v1/tokens: admin and supervisor tokens, created (shown once), listed, rotated, revoked."""

from __future__ import annotations

from fastapi import APIRouter, status

from service import audit
from service.api.auth import CallerDep, RuntimeDep
from service.realtime.protocol import RowId
from service.tokens import service
from service.tokens.schemas import TokenCreate, TokenCreated, TokenOut

router = APIRouter(prefix="/tokens", tags=["tokens"])


def created(row: object, token: str) -> TokenCreated:
    return TokenCreated.model_validate(
        {**TokenOut.model_validate(row).model_dump(), "token": token}
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TokenCreated)
async def create_token(data: TokenCreate, runtime: RuntimeDep, caller: CallerDep) -> TokenCreated:
    async with runtime.units() as work:
        row, token = await service.create(work.session, data.name, data.role, work.now, caller.name)
        await audit.record(
            work.session, caller, work.now, "token.create", row, None, audit.token_state(row)
        )
        return created(row, token)


@router.get("", response_model=list[TokenOut])
async def list_tokens(runtime: RuntimeDep, revoked: bool | None = None) -> list[TokenOut]:
    async with runtime.units.read() as session:
        return [
            TokenOut.model_validate(row) for row in await service.listed(session, revoked=revoked)
        ]


@router.post("/{token_id}/rotate", response_model=TokenCreated)
async def rotate_token(token_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> TokenCreated:
    async with runtime.units() as work:
        before = audit.token_state(await service.get(work.session, token_id))
        row, token = await service.rotate(work.session, token_id, work.now)
        await audit.record(
            work.session, caller, work.now, "token.rotate", row, before, audit.token_state(row)
        )
        return created(row, token)


@router.delete("/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: RowId, runtime: RuntimeDep, caller: CallerDep) -> TokenOut:
    async with runtime.units() as work:
        before = audit.token_state(await service.get(work.session, token_id))
        row = await service.revoke(work.session, token_id, work.now, caller.name)
        after = audit.token_state(row)
        if after != before:
            await audit.record(work.session, caller, work.now, "token.revoke", row, before, after)
        return TokenOut.model_validate(row)

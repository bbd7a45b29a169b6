"""/api/v1/audit: the audit log, newest first, filtered and paged like the other lists."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict

from service.api.auth import RuntimeDep
from service.audit.service import AuditFilters, page
from service.realtime.protocol import MAX_ID

router = APIRouter(prefix="/audit", tags=["audit"])


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    actor_role: str
    actor_token_id: int | None
    actor_agent_id: int | None
    action: str
    target_type: str
    target_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    items: list[AuditOut]
    total: int
    limit: int
    offset: int


Text = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get("", response_model=AuditPage)
async def list_audit(
    runtime: RuntimeDep,
    actor: Text = None,
    actor_role: Annotated[str | None, Query(pattern="^(admin|supervisor|agent)$")] = None,
    action: Annotated[
        str | None, Query(max_length=64, description="an action, or its kind: agent, token…")
    ] = None,
    target_type: Text = None,
    target_id: Text = None,
    since: Annotated[AwareDatetime | None, Query(description="at or after")] = None,
    until: Annotated[AwareDatetime | None, Query(description="before")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> AuditPage:
    filters = AuditFilters(actor, actor_role, action, target_type, target_id, since, until)
    async with runtime.units.read() as session:
        rows, total = await page(session, filters, limit, offset)
    items = [AuditOut.model_validate(row) for row in rows]
    return AuditPage(items=items, total=total, limit=limit, offset=offset)

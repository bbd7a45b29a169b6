"""The admin HTTP API under /api/v1."""

from fastapi import APIRouter, Depends

from service.api.admin import agents, chats, reports
from service.api.auth import require_admin
from service.complaints import endpoints as complaints

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_admin)])
router.include_router(agents.router)
router.include_router(chats.router)
router.include_router(reports.router)
router.include_router(complaints.router)

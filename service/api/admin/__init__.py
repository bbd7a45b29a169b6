"""The admin HTTP API under /api/v1."""

from fastapi import APIRouter, Depends

from service.api.admin import (
    agents,
    callbacks,
    chats,
    conduct_reports,
    customers,
    desk,
    groups,
    promises,
    reports,
    shifts,
    templates,
)
from service.api.auth import require_admin
from service.complaints import endpoints as complaints

router = APIRouter(prefix="/api/v1", dependencies=[Depends(require_admin)])
router.include_router(agents.router)
router.include_router(chats.router)
router.include_router(reports.router)
router.include_router(complaints.router)
router.include_router(customers.router)
router.include_router(groups.router)
router.include_router(templates.router)
router.include_router(callbacks.router)
router.include_router(promises.router)
router.include_router(shifts.router)
router.include_router(desk.router)
router.include_router(conduct_reports.router)

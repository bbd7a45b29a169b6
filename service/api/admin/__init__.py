"""The admin HTTP API under /api/v1."""

from fastapi import APIRouter, Depends

from service.api.admin import (
    agents,
    audit,
    callbacks,
    chats,
    desk,
    groups,
    promises,
    shifts,
    templates,
    tokens,
)
from service.api.roles import authorize
from service.complaints import endpoints as complaints
from service.customers import endpoints as customers
from service.incidents import endpoints as incidents
from service.privacy import endpoints as privacy
from service.reports import endpoints as reports
from service.webhooks import endpoints as webhooks

# Every route's rule is in service/api/roles.py; ``authorize`` applies it.
router = APIRouter(
    prefix="/api/v1",
    dependencies=[Depends(authorize)],
    responses={
        401: {
            "description": "no bearer token, or one nobody holds (problem+json `unauthorized`)",
            "content": {"application/problem+json": {}},
        },
        403: {
            "description": "the caller's role may not use this route (docs/admin.md)",
            "content": {"application/problem+json": {}},
        },
    },
)
router.include_router(agents.router)
router.include_router(chats.router)
router.include_router(reports.router)
router.include_router(complaints.router)
router.include_router(incidents.router)
router.include_router(customers.router)
router.include_router(privacy.router)
router.include_router(groups.router)
router.include_router(templates.router)
router.include_router(callbacks.router)
router.include_router(promises.router)
router.include_router(shifts.router)
router.include_router(desk.router)
router.include_router(tokens.router)
router.include_router(audit.router)
router.include_router(webhooks.router)

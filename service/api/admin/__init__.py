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
from service.api.problems import documented
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
    # The gate's refusals (service/api/gate.py) and FastAPI's body parsing: any route.
    responses=documented(400, 401, 403, 408, 413, 422, 429),
)
# What each part adds: a row looked up by id or name (404), a state that forbids it (409).
LOOKUPS = documented(404)
CHANGES = documented(404, 409)
router.include_router(agents.router, responses=CHANGES)
router.include_router(chats.router, responses=CHANGES)
router.include_router(reports.router, responses=LOOKUPS)
router.include_router(complaints.router, responses=CHANGES)
router.include_router(incidents.router, responses=CHANGES)
router.include_router(customers.router, responses=LOOKUPS)
router.include_router(privacy.router)
router.include_router(groups.router, responses=CHANGES)
router.include_router(templates.router, responses=CHANGES)
router.include_router(callbacks.router, responses=CHANGES)
router.include_router(promises.router, responses=CHANGES)
router.include_router(shifts.router)
router.include_router(desk.router)
router.include_router(tokens.router, responses=CHANGES)
router.include_router(audit.router)
router.include_router(webhooks.router, responses=CHANGES)

"""/api/v1/templates: the wording the desk sends, and a deployment's overrides of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from service.api.auth import AdminDep, RuntimeDep
from service.templates.schemas import TemplateIn, TemplateOut

router = APIRouter(prefix="/templates", tags=["templates"])

Locale = Annotated[
    str | None, Query(max_length=16, description="a phrases locale; default: the default locale")
]


@router.get("", response_model=list[TemplateOut])
async def list_templates(runtime: RuntimeDep, locale: Locale = None) -> list[TemplateOut]:
    async with runtime.units.read() as session:
        return await runtime.templates.list(session, locale)


@router.get("/{key}", response_model=TemplateOut)
async def get_template(key: str, runtime: RuntimeDep, locale: Locale = None) -> TemplateOut:
    async with runtime.units.read() as session:
        return await runtime.templates.get(session, key, locale)


@router.put("/{key}", response_model=TemplateOut)
async def put_template(
    key: str, data: TemplateIn, runtime: RuntimeDep, admin: AdminDep, locale: Locale = None
) -> TemplateOut:
    try:
        async with runtime.units() as work:
            return await runtime.templates.put(work, key, locale, data, by=admin)
    except IntegrityError:
        # Two admins created the same override at once: the second write replaces the first.
        async with runtime.units() as work:
            return await runtime.templates.put(work, key, locale, data, by=admin)


@router.delete("/{key}", response_model=TemplateOut)
async def reset_template(key: str, runtime: RuntimeDep, locale: Locale = None) -> TemplateOut:
    async with runtime.units() as work:
        return await runtime.templates.reset(work, key, locale)

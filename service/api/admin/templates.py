"""/api/v1/templates: the wording the desk sends, and a deployment's overrides of it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from service import audit
from service.api.auth import CallerDep, RuntimeDep
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


def state(template: TemplateOut) -> dict[str, object]:
    return template.model_dump(mode="json", include={"text", "variants", "overridden"})


@router.put("/{key}", response_model=TemplateOut)
async def put_template(
    key: str, data: TemplateIn, runtime: RuntimeDep, caller: CallerDep, locale: Locale = None
) -> TemplateOut:
    async def put() -> TemplateOut:
        async with runtime.units() as work:
            before = state(await runtime.templates.get(work.session, key, locale))
            template = await runtime.templates.put(work, key, locale, data, by=caller.name)
            target = ("template", f"{template.key}/{template.locale}")
            await audit.record(
                work.session, caller, work.now, "template.put", target, before, state(template)
            )
            return template

    try:
        return await put()
    except IntegrityError:
        # Two admins created the same override at once: the second write replaces the first.
        return await put()


@router.delete("/{key}", response_model=TemplateOut)
async def reset_template(
    key: str, runtime: RuntimeDep, caller: CallerDep, locale: Locale = None
) -> TemplateOut:
    async with runtime.units() as work:
        before = state(await runtime.templates.get(work.session, key, locale))
        template = await runtime.templates.reset(work, key, locale)
        if before["overridden"]:
            target = ("template", f"{template.key}/{template.locale}")
            await audit.record(
                work.session, caller, work.now, "template.reset", target, before, state(template)
            )
        return template

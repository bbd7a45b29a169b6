"""Rendering templates with a deployment's overrides, and changing those overrides.

An override replaces a template's whole wording in one locale (text and variants; a variant it
lacks falls back to its text). It is stored in the database, so every process renders the same
words; the phrases file stays the default. Rendering reads the overrides from a copy of the
whole (small) table that each process keeps for ``KEFU_TEMPLATE_CACHE_S`` seconds and drops
when its own admin API changes one: a welcome costs no query. An override obeys the loader's
rules (only the template's own variables) and may not contain a taboo phrase
(S-forbidden-phrases).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.db.models import TemplateOverride
from service.db.unit_of_work import Work
from service.errors import ForbiddenPhraseUsed, InvalidTemplate, NotFound, UnknownTemplate
from service.templates import TEMPLATE_VARIABLES, VARIANTS, Catalog, PhraseGuard, check_text, fill
from service.templates.schemas import TemplateIn, TemplateOut, TemplateWording

# The templates of the console's quick-reply menu, sent with the `template` frame; the two that
# promise a time (callback, get_back) go with the `promise` frame instead (S-callback-24h). The
# rest are the desk's own (welcome, queue notices, closing, complaint and survey wording).
QUICK_REPLIES = (
    "opening",
    "long_wait",
    "slow_reply",
    "stability",
    "anything_else",
    "callback",
    "get_back",
    "abuse_warning",
    "correction",
)
# Values the server fills in itself; an agent never types them.
AUTOMATIC = frozenset({"brand", "agent_name", "employee_no"})


@dataclass(frozen=True)
class Wording:
    text: str
    variants: dict[str, str]


class Templates:
    def __init__(
        self, catalog: Catalog, guard: PhraseGuard, brand: str, *, cache_s: float = 5.0
    ) -> None:
        self.catalog = catalog
        self.guard = guard
        self.brand = brand
        self.cache_s = cache_s
        # (key, locale) -> the override's wording, as read at ``_read_at`` (monotonic time).
        self._wordings: dict[tuple[str, str], Wording] | None = None
        self._read_at = 0.0

    async def render(
        self,
        session: AsyncSession,
        key: str,
        locale: str,
        variant: str | None = None,
        **variables: str,
    ) -> str:
        """The template in the chat's locale, the override's wording when there is one."""
        resolved = self.catalog.resolve_locale(locale)
        values = {"brand": self.brand, **variables}
        override = (await self._wordings_now(session)).get((key, resolved))
        if override is None:
            return self.catalog.render(key, resolved, variant, **values)
        text = override.variants.get(variant, override.text) if variant else override.text
        return fill(key, text, values)

    def quick_replies(self) -> list[dict[str, object]]:
        """What a console lists: each quick reply with the variables the agent must give."""
        return [
            {
                "key": key,
                "standard": self.catalog.standard(key),
                "vars": sorted(TEMPLATE_VARIABLES[key] - AUTOMATIC),
            }
            for key in QUICK_REPLIES
        ]

    async def list(self, session: AsyncSession, locale: str | None) -> list[TemplateOut]:
        exact = self._locale(locale)
        rows = await session.scalars(
            select(TemplateOverride).where(TemplateOverride.locale == exact)
        )
        overrides = {row.key: row for row in rows}
        return [self._out(key, exact, overrides.get(key)) for key in sorted(TEMPLATE_VARIABLES)]

    async def get(self, session: AsyncSession, key: str, locale: str | None) -> TemplateOut:
        self._known(key)
        exact = self._locale(locale)
        return self._out(key, exact, await self._override(session, key, exact))

    async def put(
        self, work: Work, key: str, locale: str | None, data: TemplateIn, by: str
    ) -> TemplateOut:
        self._known(key)
        exact = self._locale(locale)
        self._check(key, {"text": data.text, **data.variants})
        override = await self._override(work.session, key, exact)
        if override is None:
            override = TemplateOverride(key=key, locale=exact)
            work.session.add(override)
        override.text = data.text
        override.variants = dict(data.variants)
        override.updated_by = by
        override.updated_at = work.now
        await work.session.flush()
        self._wordings = None
        return self._out(key, exact, override)

    async def reset(self, work: Work, key: str, locale: str | None) -> TemplateOut:
        """Back to the phrases file's wording."""
        self._known(key)
        exact = self._locale(locale)
        await work.session.execute(
            delete(TemplateOverride).where(
                TemplateOverride.key == key, TemplateOverride.locale == exact
            )
        )
        self._wordings = None
        return self._out(key, exact, None)

    def _check(self, key: str, wordings: Mapping[str, str]) -> None:
        for field, text in wordings.items():
            if field != "text" and field not in VARIANTS:
                allowed = ", ".join(sorted(VARIANTS))
                raise InvalidTemplate(
                    f"{key}: unknown variant {field!r}; allowed: {allowed}", field=field
                )
            try:
                check_text(key, field, text)
            except ValueError as exc:
                raise InvalidTemplate(f"{key}: {exc}", field=field) from None
            hit = self.guard.screen(text)
            if hit is not None:
                raise ForbiddenPhraseUsed(
                    f"{key}: {field} contains the taboo phrase {hit.phrase!r}",
                    phrase=hit.phrase,
                    suggestion=hit.replacement,
                )

    def _known(self, key: str) -> None:
        if key not in TEMPLATE_VARIABLES:
            raise UnknownTemplate(f"no template {key!r}")

    def _locale(self, locale: str | None) -> str:
        if locale is None:
            return self.catalog.default_locale
        if locale not in self.catalog.locales:
            raise NotFound(f"no phrases for locale {locale!r}")
        return locale

    async def _wordings_now(self, session: AsyncSession) -> dict[tuple[str, str], Wording]:
        """Every override's wording, read again when the copy is older than ``cache_s``."""
        if self._wordings is None or time.monotonic() - self._read_at > self.cache_s:
            rows = await session.scalars(select(TemplateOverride))
            self._wordings = {
                (row.key, row.locale): Wording(row.text, dict(row.variants)) for row in rows
            }
            self._read_at = time.monotonic()
        return self._wordings

    async def _override(
        self, session: AsyncSession, key: str, locale: str
    ) -> TemplateOverride | None:
        return await session.scalar(
            select(TemplateOverride).where(
                TemplateOverride.key == key, TemplateOverride.locale == locale
            )
        )

    def _out(self, key: str, locale: str, override: TemplateOverride | None) -> TemplateOut:
        text, variants = self.catalog.text(key, locale)
        default = TemplateWording(text=text, variants=dict(variants))
        current = (
            TemplateWording(text=override.text, variants=dict(override.variants))
            if override is not None
            else default
        )
        return TemplateOut(
            key=key,
            locale=locale,
            standard=self.catalog.standard(key),
            variables=sorted(TEMPLATE_VARIABLES[key]),
            quick_reply=key in QUICK_REPLIES,
            text=current.text,
            variants=current.variants,
            overridden=override is not None,
            updated_by=override.updated_by if override else None,
            updated_at=override.updated_at if override else None,
            default=default,
        )

"""The template catalogue: the wording the desk sends by itself, one TOML file per locale.

This module owns loading ``phrases/<locale>.toml``, validating it (a bad file stops start-up
with the file, key and line), choosing a locale for a customer and rendering templates. It
also owns the taboo phrases with their replacements (S-forbidden-phrases) and the keyword
lists. The wording is data; which variables a template may use is code, so a translation
cannot ask for a value that no caller provides.
"""

from __future__ import annotations

import pathlib
import re
import string
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from service.templates.extras import EXTRA_KEYS, Extras, parse_extras
from service.templates.guard import Pattern, PhraseGuard, fold

DEFAULT_LOCALE = "zh-CN"

TEMPLATE_VARIABLES: Mapping[str, frozenset[str]] = {
    "welcome": frozenset({"brand"}),
    "long_wait": frozenset(),
    "slow_reply": frozenset(),
    "stability": frozenset(),
    "closing": frozenset({"brand"}),
    "correction": frozenset(),
    "hold": frozenset(),
    "hold_back": frozenset(),
    "anything_else": frozenset(),
    "abuse_warning": frozenset(),
    "no_response": frozenset(),
    "callback": frozenset({"time"}),
    "get_back": frozenset({"time"}),
    "complaint_ack": frozenset({"hours"}),
    "survey": frozenset(),
    "unsatisfied": frozenset(),
    "opening": frozenset({"agent_name", "employee_no"}),
    "queued": frozenset({"position"}),
    "nobody_online": frozenset(),
    "leave_message_ack": frozenset({"time"}),
    "transferred": frozenset(),
    "returned_to_queue": frozenset(),
    "reassigned": frozenset(),
    # Surge mode (S-classes batch): the known-issue answer, the resolution, a declared title.
    "known_issue": frozenset({"title", "time"}),
    "incident_resolved": frozenset({"title", "resolution"}),
    "incident_auto": frozenset({"topic"}),
}

# Values used when the caller gives none. S-complaint-48h: a complaint is answered within 48h.
TEMPLATE_DEFAULTS: Mapping[str, Mapping[str, str]] = {"complaint_ack": {"hours": "48"}}

# telephone-service-standard §七.14: weekend and holiday wording.
VARIANTS = frozenset({"weekend", "holiday"})
KEYWORD_LISTS = frozenset({"complaint", "abuse", "slow_reply", "stability"})

_TOP_LEVEL = frozenset({"locale", "templates", "forbidden", "keywords"}) | EXTRA_KEYS
_FORBIDDEN_FIELDS = frozenset({"phrase", "replacement", "whole_message"})


class PhraseError(Exception):
    """A phrases file that cannot be used; the service refuses to start."""

    def __init__(
        self,
        file: str | pathlib.Path,
        message: str,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        self.file = str(file)
        self.key = key
        self.line = line
        self.message = message
        where = self.file if line is None else f"{self.file}:{line}"
        super().__init__(f"{where}: {key}: {message}" if key else f"{where}: {message}")


class MissingVariable(ValueError):
    """``render`` was not given a value that the template's text uses."""


@dataclass(frozen=True)
class ForbiddenPhrase:
    phrase: str
    replacement: str
    whole_message: bool = False  # forbidden only as a bare answer (不知道), not inside a sentence

    def matches(self, text: str) -> bool:
        """Exact (folded) matching; see service/templates/folding.py for what it ignores."""
        pattern = Pattern.of(self.phrase, whole_message=self.whole_message)
        return pattern.found_in(fold(text))


@dataclass(frozen=True)
class _Template:
    standard: str
    text: str
    variants: Mapping[str, str]


@dataclass(frozen=True)
class _Locale:
    templates: Mapping[str, _Template]
    forbidden: tuple[ForbiddenPhrase, ...]
    keywords: Mapping[str, tuple[str, ...]]
    extras: Extras


class Catalog:
    def __init__(
        self, locales: Mapping[str, _Locale], default_locale: str = DEFAULT_LOCALE
    ) -> None:
        self._locales = dict(locales)
        self.default_locale = default_locale
        self._guard: PhraseGuard | None = None

    @classmethod
    def load(cls, directory: pathlib.Path, default_locale: str = DEFAULT_LOCALE) -> Catalog:
        sources = [_Source.read(path) for path in sorted(directory.glob("*.toml"))]
        by_locale = {source.path.stem: source for source in sources}
        if default_locale not in by_locale:
            raise PhraseError(
                directory / f"{default_locale}.toml", "the default locale has no phrases file"
            )
        locales = {stem: source.parse() for stem, source in by_locale.items()}
        standards = {k: t.standard for k, t in locales[default_locale].templates.items()}
        for stem, locale in locales.items():
            for key, template in locale.templates.items():
                if template.standard != standards[key]:
                    raise by_locale[stem].error(
                        f"standard {template.standard!r} differs from {standards[key]!r} "
                        f"in {default_locale}",
                        key,
                        f"templates.{key}",
                        "standard",
                    )
        return cls(locales, default_locale)

    @property
    def locales(self) -> frozenset[str]:
        return frozenset(self._locales)

    def resolve_locale(self, requested: str | None) -> str:
        """Exact match, else the same language ("en-US": "en", "zh-TW": "zh-CN"), else default."""
        if not requested:
            return self.default_locale
        wanted = requested.replace("_", "-").casefold()
        for locale in self._locales:
            if locale.casefold() == wanted:
                return locale
        language = wanted.split("-")[0]
        same_language = sorted(
            (locale for locale in self._locales if locale.split("-")[0].casefold() == language),
            key=lambda locale: (locale != self.default_locale, locale),
        )
        return same_language[0] if same_language else self.default_locale

    def keys(self) -> frozenset[str]:
        return frozenset(TEMPLATE_VARIABLES)

    def standard(self, key: str) -> str:
        return self._locales[self.default_locale].templates[key].standard

    def render(
        self,
        key: str,
        locale: str | None = None,
        variant: str | None = None,
        **variables: str,
    ) -> str:
        """The template in the resolved locale; a variant absent there falls back to the text.

        Variables the template does not use are ignored, so callers may pass shared context
        (``brand``) to every key.
        """
        if variant is not None and variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; expected one of {sorted(VARIANTS)}")
        template = self._locales[self.resolve_locale(locale)].templates[key]
        text = template.variants.get(variant, template.text) if variant else template.text
        return fill(key, text, variables)

    def text(self, key: str, locale: str) -> tuple[str, Mapping[str, str]]:
        """The file's wording of ``key`` in exactly ``locale``: (text, variants)."""
        template = self._locales[locale].templates[key]
        return template.text, template.variants

    def guard(self) -> PhraseGuard:
        """The taboo phrases and keyword lists of every locale, ready to match (built once)."""
        if self._guard is None:
            self._guard = self._build_guard()
        return self._guard

    def _build_guard(self) -> PhraseGuard:
        locales = sorted(self._locales.items())
        return PhraseGuard(
            (
                (name, entry.phrase, entry.replacement, entry.whole_message)
                for name, locale in locales
                for entry in locale.forbidden
            ),
            (
                (name, list_name, word)
                for name, locale in locales
                for list_name, words in sorted(locale.keywords.items())
                for word in words
            ),
            synonyms=(
                (name, synonym.of, synonym.phrase, synonym.whole_message)
                for name, locale in locales
                for synonym in locale.extras.synonyms
            ),
            abbreviations=(
                (name, list_name, word)
                for name, locale in locales
                for list_name, word in locale.extras.abbreviations
            ),
            profanity=(
                (name, word, locale.extras.polite)
                for name, locale in locales
                for word in locale.extras.profanity
            ),
            bare_before=[word for _, locale in locales for word in locale.extras.bare_before],
            bare_after=[word for _, locale in locales for word in locale.extras.bare_after],
            not_homophones=[w for _, locale in locales for w in locale.extras.not_homophones],
        )

    def forbidden(self, locale: str) -> tuple[ForbiddenPhrase, ...]:
        return self._locales[self.resolve_locale(locale)].forbidden

    def keywords(self, locale: str, list_name: str) -> tuple[str, ...]:
        if list_name not in KEYWORD_LISTS:
            raise KeyError(list_name)
        return self._locales[self.resolve_locale(locale)].keywords[list_name]


def fill(key: str, text: str, variables: Mapping[str, str]) -> str:
    """Put the values into a template's text; defaults (TEMPLATE_DEFAULTS) fill the gaps."""
    values = {**TEMPLATE_DEFAULTS.get(key, {}), **variables}
    try:
        return text.format_map(values)
    except KeyError as exc:
        raise MissingVariable(f"template {key!r} needs the variable {exc.args[0]!r}") from None


def check_text(key: str, field: str, value: object) -> str:
    """The loader's rules for one wording of a template; ValueError says what is wrong."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{field} must be a non-empty string")
    unknown = _placeholders(value) - TEMPLATE_VARIABLES[key]
    if unknown:
        allowed = ", ".join(sorted(TEMPLATE_VARIABLES[key])) or "none"
        raise ValueError(f"{field} uses {{{min(unknown)}}}, not allowed here (allowed: {allowed})")
    return value


def _placeholders(text: str) -> set[str]:
    """Names used as ``{name}``; anything fancier (``{0}``, ``{a.b}``, ``{a!r}``) is refused."""
    names: set[str] = set()
    for _, name, spec, conversion in string.Formatter().parse(text):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ValueError(f"placeholder {{{name}}} must be a plain {{name}}")
        names.add(name)
    return names


@dataclass(frozen=True)
class _Source:
    """One phrases file: its path and raw lines, kept to point errors at a line."""

    path: pathlib.Path
    lines: tuple[str, ...]

    @classmethod
    def read(cls, path: pathlib.Path) -> _Source:
        return cls(path, tuple(path.read_text(encoding="utf-8").splitlines()))

    def line_of(self, table: str | None, field: str | None = None, nth: int = 0) -> int | None:
        """1-based line of ``[table]`` (the nth ``[[table]]``), or of ``field =`` inside it."""
        start = 0
        if table is not None:
            headers = [
                i
                for i, line in enumerate(self.lines)
                if re.sub(r'[\s"\[\]]', "", line.split("#")[0]) == table
                and line.lstrip().startswith("[")
            ]
            if len(headers) <= nth:
                return None
            start = headers[nth]
            if field is None:
                return start + 1
        pattern = re.compile(rf'^\s*"?{re.escape(field or "")}"?\s*=')
        for i in range(start + 1 if table else 0, len(self.lines)):
            if table and self.lines[i].lstrip().startswith("["):
                break
            if pattern.match(self.lines[i]):
                return i + 1
        return None

    def error(
        self,
        message: str,
        key: str | None,
        table: str | None = None,
        field: str | None = None,
        nth: int = 0,
    ) -> PhraseError:
        line = self.line_of(table, field, nth) if table or field else None
        return PhraseError(self.path, message, key, line)

    def parse(self) -> _Locale:
        try:
            data = tomllib.loads("\n".join(self.lines))
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"at line (\d+)", str(exc))
            line = int(found[1]) if found else None
            raise PhraseError(self.path, f"not valid TOML: {exc}", None, line) from None
        if unknown := sorted(data.keys() - _TOP_LEVEL):
            raise self.error("unknown top-level key", unknown[0], field=unknown[0])
        if data.get("locale") != self.path.stem:
            raise self.error(
                f"locale must be {self.path.stem!r} (the file name)", "locale", field="locale"
            )
        forbidden = self._forbidden(data.get("forbidden", []))
        return _Locale(
            self._templates(data.get("templates")),
            forbidden,
            self._keywords(data.get("keywords")),
            parse_extras(data, {e.phrase: e.whole_message for e in forbidden}, self.error),
        )

    def _templates(self, raw: Any) -> dict[str, _Template]:
        if not isinstance(raw, dict):
            raise self.error("missing [templates.*] tables", "templates")
        if unknown := sorted(raw.keys() - TEMPLATE_VARIABLES.keys()):
            raise self.error("unknown template key", unknown[0], f"templates.{unknown[0]}")
        if missing := sorted(TEMPLATE_VARIABLES.keys() - raw.keys()):
            raise self.error("required template is missing", missing[0])
        return {key: self._template(key, raw[key]) for key in TEMPLATE_VARIABLES}

    def _template(self, key: str, raw: Any) -> _Template:
        table = f"templates.{key}"
        if not isinstance(raw, dict):
            raise self.error("must be a table", key, table)
        standard = raw.get("standard")
        if not isinstance(standard, str) or not standard.startswith("S-"):
            raise self.error("needs standard = 'S-…'", key, table, "standard")
        texts: dict[str, str] = {}
        for field, value in raw.items():
            if field == "standard":
                continue
            if field != "text" and field not in VARIANTS:
                raise self.error(
                    f"unknown variant {field!r}; allowed: {', '.join(sorted(VARIANTS))}",
                    key,
                    table,
                    field,
                )
            try:
                texts[field] = check_text(key, field, value)
            except ValueError as exc:
                raise self.error(str(exc), key, table, field) from None
        if "text" not in texts:
            raise self.error("needs text = '…'", key, table)
        text = texts.pop("text")
        return _Template(standard, text, texts)

    def _forbidden(self, raw: Any) -> tuple[ForbiddenPhrase, ...]:
        if not isinstance(raw, list):
            raise self.error("must be an array of [[forbidden]] tables", "forbidden", "forbidden")
        entries = []
        for nth, entry in enumerate(raw):
            key = f"forbidden[{nth}]"
            if not isinstance(entry, dict):
                raise self.error("must be a table", key, "forbidden", None, nth)
            if unknown := sorted(entry.keys() - _FORBIDDEN_FIELDS):
                raise self.error(f"unknown field {unknown[0]!r}", key, "forbidden", unknown[0], nth)
            phrase, replacement = entry.get("phrase"), entry.get("replacement")
            whole_message = entry.get("whole_message", False)
            if not isinstance(phrase, str) or not phrase.strip():
                raise self.error("needs phrase = '…'", key, "forbidden", None, nth)
            if not isinstance(replacement, str) or not replacement.strip():
                raise self.error(f"{phrase!r} has no replacement", key, "forbidden", "phrase", nth)
            if not isinstance(whole_message, bool):
                raise self.error(
                    "whole_message must be true or false", key, "forbidden", "whole_message", nth
                )
            if not fold(phrase).chars:
                raise self.error(
                    f"{phrase!r} has no letters or digits", key, "forbidden", "phrase", nth
                )
            entries.append(ForbiddenPhrase(phrase, replacement, whole_message))
        return tuple(entries)

    def _keywords(self, raw: Any) -> dict[str, tuple[str, ...]]:
        if not isinstance(raw, dict):
            raise self.error("missing [keywords] table", "keywords")
        if unknown := sorted(raw.keys() - KEYWORD_LISTS):
            raise self.error(
                f"unknown keyword list; allowed: {', '.join(sorted(KEYWORD_LISTS))}",
                f"keywords.{unknown[0]}",
                "keywords",
                unknown[0],
            )
        if missing := sorted(KEYWORD_LISTS - raw.keys()):
            raise self.error(
                "required keyword list is missing", f"keywords.{missing[0]}", "keywords"
            )
        lists: dict[str, tuple[str, ...]] = {}
        for name in sorted(KEYWORD_LISTS):
            words = raw[name]
            if not isinstance(words, list) or not all(
                isinstance(word, str) and word.strip() for word in words
            ):
                raise self.error(
                    "must be a list of non-empty strings", f"keywords.{name}", "keywords", name
                )
            if empty := [word for word in words if not fold(word).chars]:
                raise self.error(
                    f"{empty[0]!r} has no letters or digits", f"keywords.{name}", "keywords", name
                )
            lists[name] = tuple(words)
        return lists

"""Templates, taboo phrases and keyword lists, loaded from ``phrases/<locale>.toml``."""

from service.phrases.catalog import (
    DEFAULT_LOCALE,
    KEYWORD_LISTS,
    TEMPLATE_DEFAULTS,
    TEMPLATE_VARIABLES,
    VARIANTS,
    Catalog,
    ForbiddenPhrase,
    MissingVariable,
    PhraseError,
    check_text,
    fill,
)
from service.phrases.guard import Hit, PhraseGuard, fold

__all__ = [
    "DEFAULT_LOCALE",
    "KEYWORD_LISTS",
    "TEMPLATE_DEFAULTS",
    "TEMPLATE_VARIABLES",
    "VARIANTS",
    "Catalog",
    "ForbiddenPhrase",
    "Hit",
    "MissingVariable",
    "PhraseError",
    "PhraseGuard",
    "check_text",
    "fill",
    "fold",
]

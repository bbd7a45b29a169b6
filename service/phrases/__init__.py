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
)

__all__ = [
    "DEFAULT_LOCALE",
    "KEYWORD_LISTS",
    "TEMPLATE_DEFAULTS",
    "TEMPLATE_VARIABLES",
    "VARIANTS",
    "Catalog",
    "ForbiddenPhrase",
    "MissingVariable",
    "PhraseError",
]

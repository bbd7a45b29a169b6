"""Templates: the catalogue from ``phrases/<locale>.toml`` (templates, taboo phrases, keyword
lists), a deployment's overrides (``service.py``), rendering, and the one matcher of every
list (``matching.py``, with ``folding.py``, ``edits.py``, ``extras.py``; ``guard.py`` says what
is screened and spotted)."""

from service.templates.catalog import (
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
from service.templates.guard import Hit, PhraseGuard, fold

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

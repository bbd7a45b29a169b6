"""The curated evasion data of a phrases file, beside its taboo phrases and keyword lists.

- ``[[synonyms]]``: other wordings of a handbook taboo phrase (S-forbidden-phrases), each
  block naming the phrase it stands for (``of``) and citing its standard;
- ``[abbreviations]``: what players type for the abuse list (``sb``, ``nmsl``; S-abuse),
  matched as whole words only;
- ``[profanity]``: words an agent may not send (S-forbidden-phrases, S-abuse), with the
  wording to use instead; the abuse list and its abbreviations are screened for agents too;
- ``[not_homophones]``: ordinary words that only sound like a list entry (白吃, 白痴);
- ``[bare_answers]``: particles and filler words that leave a bare answer bare (不知道啊,
  我也不知道, "honestly I don't know").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from service.templates.folding import fold

EXTRA_KEYS = frozenset({"synonyms", "abbreviations", "profanity", "bare_answers", "not_homophones"})
ABBREVIATED_LISTS = frozenset({"abuse"})

# error(message, key, table=None, field=None, nth=0) -> the loader's PhraseError
Error = Callable[..., Exception]


@dataclass(frozen=True)
class Synonym:
    of: str
    phrase: str
    whole_message: bool


@dataclass(frozen=True)
class Extras:
    synonyms: tuple[Synonym, ...] = ()
    abbreviations: tuple[tuple[str, str], ...] = ()  # (list name, abbreviation)
    profanity: tuple[str, ...] = ()
    polite: str = ""  # what to say instead of profanity
    bare_before: tuple[str, ...] = ()  # set aside at the start of a bare answer (我也不知道)
    bare_after: tuple[str, ...] = ()  # and at its end (不知道啊)
    not_homophones: tuple[str, ...] = ()


def parse_extras(data: dict[str, Any], forbidden: dict[str, bool], error: Error) -> Extras:
    """``forbidden``: the file's taboo phrases → whole_message."""
    synonyms = _synonyms(data.get("synonyms", []), forbidden, error)
    abbreviations: list[tuple[str, str]] = []
    raw = _table(data, "abbreviations", error)
    for name, words in raw.items():
        if name == "standard":
            continue
        if name not in ABBREVIATED_LISTS:
            raise error(f"unknown list; allowed: {', '.join(sorted(ABBREVIATED_LISTS))}",
                        f"abbreviations.{name}", "abbreviations", name)  # fmt: skip
        abbreviations += [(name, word) for word in _words(words, "abbreviations", name, error)]
    profanity = _table(data, "profanity", error)
    polite = profanity.get("replacement", "")
    words = tuple(_words(profanity.get("words", []), "profanity", "words", error))
    if words and (not isinstance(polite, str) or not polite.strip()):
        raise error("needs replacement = '…'", "profanity", "profanity")
    bare = _table(data, "bare_answers", error)
    before = tuple(_words(bare.get("before", []), "bare_answers", "before", error))
    after = tuple(_words(bare.get("after", []), "bare_answers", "after", error))
    alike = _table(data, "not_homophones", error)
    not_homophones = tuple(_words(alike.get("words", []), "not_homophones", "words", error))
    return Extras(synonyms, tuple(abbreviations), words, polite, before, after, not_homophones)


def _table(data: dict[str, Any], name: str, error: Error) -> dict[str, Any]:
    raw = data.get(name, {})
    if not isinstance(raw, dict):
        raise error("must be a table", name, name)
    if raw and not str(raw.get("standard", "")).startswith("S-"):
        raise error("needs standard = 'S-…'", name, name, "standard")
    return raw


def _words(raw: Any, table: str, name: str, error: Error) -> list[str]:
    if not isinstance(raw, list) or not all(isinstance(w, str) and w.strip() for w in raw):
        raise error("must be a list of non-empty strings", f"{table}.{name}", table, name)
    if empty := [word for word in raw if not fold(word).chars]:
        raise error(f"{empty[0]!r} has no letters or digits", f"{table}.{name}", table, name)
    return list(raw)


def _synonyms(raw: Any, forbidden: dict[str, bool], error: Error) -> tuple[Synonym, ...]:
    if not isinstance(raw, list):
        raise error("must be an array of [[synonyms]] tables", "synonyms", "synonyms")
    found: list[Synonym] = []
    for nth, block in enumerate(raw):
        key = f"synonyms[{nth}]"
        if not isinstance(block, dict):
            raise error("must be a table", key, "synonyms", None, nth)
        if unknown := sorted(block.keys() - {"of", "standard", "phrases", "whole_message"}):
            raise error(f"unknown field {unknown[0]!r}", key, "synonyms", unknown[0], nth)
        of = block.get("of")
        if of not in forbidden:
            raise error(f"of = {of!r} is no [[forbidden]] phrase", key, "synonyms", "of", nth)
        if not str(block.get("standard", "")).startswith("S-"):
            raise error("needs standard = 'S-…'", key, "synonyms", "standard", nth)
        whole = block.get("whole_message", forbidden[of])
        if not isinstance(whole, bool):
            raise error("whole_message must be true or false", key, "synonyms", "whole_message",
                        nth)  # fmt: skip
        for phrase in _words(block.get("phrases"), "synonyms", "phrases", error):
            found.append(Synonym(of, phrase, whole))
    return tuple(found)

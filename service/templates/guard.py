"""The conduct lists of every locale as one matcher: what the desk screens and spots.

- ``screen``: an agent's text bound for a customer (S-forbidden-phrases): the handbook's taboo
  phrases with their curated synonyms and bare answers, and agent profanity (the abuse list,
  its player abbreviations and the ``[profanity]`` words: agents are held to S-abuse too);
- ``spot``: the first keyword of one list in a message (abuse, complaint, slow_reply,
  stability), for the abuse rule, complaint drafts and the agent's suggestions.

Folding (service/templates/folding.py) and matching (service/templates/matching.py) are the same
for every list; which evasion classes apply to which list is decided here, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from service.templates.folding import TRADITIONAL, Folded, fold
from service.templates.matching import Entry, Matcher

__all__ = ["TRADITIONAL", "Folded", "Hit", "Pattern", "PhraseGuard", "fold"]

SCREENED = frozenset({"forbidden", "profanity"})
# Lists whose spellings people bend on purpose: leetspeak and homophones apply to them.
EVADED = frozenset({"forbidden", "profanity", "abuse"})


@dataclass(frozen=True)
class Pattern:
    """One phrase matched exactly (after folding): no fuzzy, pinyin or leet reading."""

    source: str
    folded: Folded
    whole_message: bool = False
    word_end: bool = True  # keywords match word prefixes ("crash" in "crashed"); taboos do not
    _matcher: Matcher = field(compare=False, repr=False, default=None)  # type: ignore[assignment]

    @classmethod
    def of(cls, phrase: str, *, whole_message: bool = False, word_end: bool = True) -> Pattern:
        entry = Entry("phrase", phrase, phrase, whole_message=whole_message, word_end=word_end)
        return cls(phrase, fold(phrase), whole_message, word_end, Matcher([entry]))

    def found_in(self, text: Folded) -> bool:
        return bool(self._matcher.match(text, frozenset({"phrase"})))


@dataclass(frozen=True)
class Hit:
    """A taboo phrase (or profanity) found in a text, with what to say instead."""

    phrase: str
    replacement: str
    locale: str
    how: str = "exact"  # which reading found it: exact, fuzzy, pinyin, leet, bare


class PhraseGuard:
    """The taboo phrases and keyword lists of every locale, folded and indexed once at start."""

    def __init__(
        self,
        forbidden: Iterable[tuple[str, str, str, bool]],
        keywords: Iterable[tuple[str, str, str]],
        *,
        synonyms: Iterable[tuple[str, str, str, bool]] = (),
        abbreviations: Iterable[tuple[str, str, str]] = (),
        profanity: Iterable[tuple[str, str, str]] = (),
        bare_before: Iterable[str] = (),
        bare_after: Iterable[str] = (),
        not_homophones: Iterable[str] = (),
    ) -> None:
        """``forbidden``: (locale, phrase, replacement, whole_message); ``keywords`` and
        ``abbreviations``: (locale, list name, word); ``synonyms``: (locale, handbook phrase,
        synonym, whole_message); ``profanity``: (locale, word, replacement); ``bare_before``,
        ``bare_after``: words that leave a bare answer bare (我也不知道, 不知道啊);
        ``not_homophones``: ordinary words that only sound like a list entry (白吃)."""
        entries: list[Entry] = []
        replacements: dict[tuple[str, str], str] = {}
        for locale, phrase, replacement, whole in forbidden:
            replacements[locale, phrase] = replacement
            entries.append(_taboo(locale, phrase, phrase, replacement, whole))
        for locale, phrase, written, whole in synonyms:
            entries.append(_taboo(locale, phrase, written, replacements[locale, phrase], whole))
        keyword_rows = list(keywords)
        abbreviation_rows = list(abbreviations)
        profanity_rows = list(profanity)
        polite = {locale: replacement for locale, _word, replacement in profanity_rows}
        for locale, word, replacement in profanity_rows:
            entries.append(_word("profanity", locale, word, replacement))
        for locale, name, word in keyword_rows:
            if name == "abuse" and locale in polite:  # agents may not insult customers either
                entries.append(_word("profanity", locale, word, polite[locale]))
        for locale, name, word in abbreviation_rows:
            if name == "abuse" and locale in polite:
                entries.append(_word("profanity", locale, word, polite[locale], whole_word=True))
        for locale, name, word in keyword_rows:
            entries.append(_word(name, locale, word))
        for locale, name, word in abbreviation_rows:
            entries.append(_word(name, locale, word, whole_word=True))
        self.matcher = Matcher(entries, bare_before, bare_after, not_homophones)

    def screen(self, text: str, locale: str | None = None) -> Hit | None:
        """The first taboo phrase or profanity in ``text``; the chat's own locale first.

        Every locale's table applies: a Chinese taboo stays one in an English chat.
        """
        found = self.matcher.find(text, SCREENED)
        if not found:
            return None
        best = min(found, key=lambda match: (match.entry.locale != locale, match.index))
        entry = best.entry
        return Hit(entry.phrase, entry.replacement, entry.locale, best.how)

    def spot(self, text: str, list_name: str) -> str | None:
        """The first keyword of the named list found in ``text`` (any locale), if any."""
        found = self.matcher.find(text, frozenset({list_name}))
        return found[0].entry.phrase if found else None


def _taboo(locale: str, phrase: str, written: str, replacement: str, whole: bool) -> Entry:
    return Entry(
        "forbidden",
        phrase,
        written,
        replacement,
        locale,
        whole_message=whole,
        word_end=True,
        fuzzy=not whole,
        sounds=True,
        leet=True,
        question=written.rstrip().endswith(("?", "？")),
    )


def _word(
    kind: str, locale: str, word: str, replacement: str = "", *, whole_word: bool = False
) -> Entry:
    # A keyword that ends in a digit must end a number: "315" is not in "3150元".
    word_end = whole_word or word.rstrip()[-1:].isdigit()
    evaded = kind in EVADED and not whole_word
    # Two letters swapped in a long Latin word ("idoit"); other edits turn "bitch" into "batch".
    swapped = evaded and word.isascii() and len(fold(word).chars) >= 5
    return Entry(
        kind,
        word,
        word,
        replacement,
        locale,
        word_end=word_end,
        sounds=evaded,
        leet=evaded,
        fuzzy=swapped,
        swap_only=swapped,
    )

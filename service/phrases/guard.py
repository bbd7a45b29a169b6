"""Text matching for the conduct rules: taboo phrases (S-forbidden-phrases) and keyword lists.

Pure functions, no I/O. Before matching, text is folded so that the obvious evasions do not
get through:

- compatibility forms and accents: NFKD, then combining marks dropped (full-width ``ｙｏｕ``,
  half-width katakana, ``wróng``), and case folded;
- traditional characters: a small table maps the traditional forms of every character the
  catalogue's Chinese phrases and keywords use to the simplified form (``說`` → ``说``);
- separators: only letters and digits are kept, so spaces, punctuation, symbols, emoji and
  zero-width characters inside a phrase are ignored (``您 搞,错 了``).

Latin-script phrases must start at a word boundary (taboo phrases must also end at one), so
"you are wrongly charged" does not hit "you are wrong" while "y o u a r e w r o n g" does.
Chinese has no word boundaries: a Chinese phrase matches anywhere. Text that holds the same
characters in another order never matches: matching is on the folded sequence.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from service.phrases.matching import normalise

# Traditional → simplified for the characters of phrases/zh-CN.toml (taboo phrases and keyword
# lists). Each pair is written once; tests/unit/test_guard.py keeps the table consistent and
# checks the traditional spelling of every taboo phrase. 覆 → 复 only matters for matching
# (回覆 is the Taiwanese spelling of 回复); 妳 is a form of 你.
_PAIRS = (
    "錯错 經经 說说 聽听 嗎吗 麼么 塗涂 這这 與与 無无 關关 歸归 辦办 沒没 筆笔 媽妈 "
    "馬马 癡痴 腦脑 殘残 廢废 滾滚 東东 復复 覆复 線线 斷断 頓顿 閃闪 務务 穩稳 網网 "
    "絡络 連连 錄录 遲迟 訴诉 舉举 報报 協协 會会 師师 體体 們们 領领 導导 妳你"
)
TRADITIONAL: dict[str, str] = {pair[0]: pair[1] for pair in _PAIRS.split()}
# Spellings that differ by more than one character (甚麼 is how Hong Kong writes 什么).
_WORDS = (("甚么", "什么"),)
_TABLE = str.maketrans(TRADITIONAL)


def _is_kept(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces (not CJK)."""
    return unicodedata.east_asian_width(char) not in ("W", "F")


@dataclass(frozen=True)
class Folded:
    """Letters and digits of a text, folded; ``gap[i]`` says a separator stood before ``i``."""

    chars: str
    gap: tuple[bool, ...]  # len(chars) + 1 entries; the last one is the end of the text

    def boundary(self, index: int) -> bool:
        """Whether a word may start (or end) at ``index``."""
        if index <= 0 or index >= len(self.chars) or self.gap[index]:
            return True
        return not (_is_word_char(self.chars[index - 1]) and _is_word_char(self.chars[index]))


@functools.lru_cache(maxsize=1024)
def fold(text: str) -> Folded:
    """The text as the guard compares it; cached, as one message is screened several times
    (abuse, suggestions, complaint keywords). Read-only: callers must not change it."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(c for c in decomposed if not unicodedata.combining(c))
    # Last, on what width, case and traditional folding left (fillers decompose to U+1160).
    lowered = normalise(unicodedata.normalize("NFKC", stripped).casefold().translate(_TABLE))
    for old, new in _WORDS:
        lowered = lowered.replace(old, new)
    chars: list[str] = []
    gap: list[bool] = []
    separated = True
    for char in lowered:
        if _is_kept(char):
            chars.append(char)
            gap.append(separated)
            separated = False
        else:
            separated = True
    gap.append(True)
    return Folded("".join(chars), tuple(gap))


@dataclass(frozen=True)
class Pattern:
    """A phrase, folded once, ready to be looked for in many texts."""

    source: str
    folded: Folded
    whole_message: bool = False
    word_end: bool = True  # keywords match word prefixes ("crash" in "crashed"); taboos do not

    @classmethod
    def of(cls, phrase: str, *, whole_message: bool = False, word_end: bool = True) -> Pattern:
        folded = fold(phrase)
        if not folded.chars:
            raise ValueError(f"{phrase!r} has no letters or digits to match")
        return cls(phrase, folded, whole_message, word_end)

    def found_in(self, text: Folded) -> bool:
        needle = self.folded.chars
        if self.whole_message:
            return text.chars == needle
        start = text.chars.find(needle)
        while start != -1:
            end = start + len(needle)
            if text.boundary(start) and (not self.word_end or text.boundary(end)):
                return True
            start = text.chars.find(needle, start + 1)
        return False


@dataclass(frozen=True)
class Hit:
    """A taboo phrase found in a text, with what to say instead."""

    phrase: str
    replacement: str
    locale: str


@dataclass(frozen=True)
class _Entry:
    pattern: Pattern
    replacement: str
    locale: str


class PhraseGuard:
    """The taboo phrases and keyword lists of every locale, folded once at start."""

    def __init__(
        self,
        forbidden: Iterable[tuple[str, str, str, bool]],
        keywords: Iterable[tuple[str, str, str]],
    ) -> None:
        """``forbidden``: (locale, phrase, replacement, whole_message);
        ``keywords``: (locale, list name, keyword)."""
        self._forbidden = tuple(
            _Entry(Pattern.of(phrase, whole_message=whole), replacement, locale)
            for locale, phrase, replacement, whole in forbidden
        )
        lists: dict[str, list[Pattern]] = {}
        for _locale, name, word in keywords:
            lists.setdefault(name, []).append(Pattern.of(word, word_end=False))
        self._keywords = {name: tuple(patterns) for name, patterns in lists.items()}

    def screen(self, text: str, locale: str | None = None) -> Hit | None:
        """The first taboo phrase in ``text``; the chat's own locale is tried first.

        Every locale's table applies: a Chinese taboo stays one in an English chat.
        """
        folded = fold(text)
        ordered = sorted(self._forbidden, key=lambda entry: entry.locale != locale)
        for entry in ordered:
            if entry.pattern.found_in(folded):
                return Hit(entry.pattern.source, entry.replacement, entry.locale)
        return None

    def spot(self, text: str, list_name: str) -> str | None:
        """The first keyword of the named list found in ``text`` (any locale), if any."""
        return first_found(self._keywords.get(list_name, ()), fold(text))


def first_found(patterns: Sequence[Pattern], text: Folded) -> str | None:
    for pattern in patterns:
        if pattern.found_in(text):
            return pattern.source
    return None

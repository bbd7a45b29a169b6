"""How text is folded before any list is matched (S-forbidden-phrases, S-abuse, keyword lists).

Pure functions, no I/O. ``fold`` turns a message into the sequence the matcher compares, once
per message (cached), with the same steps for every list:

- compatibility forms and accents: NFKD, combining marks dropped, NFKC, case fold (full-width
  ``ｙｏｕ``, ``wróng``, pinyin tone marks ``nǐ`` → ``ni``);
- traditional characters: a small table maps the traditional forms of the characters the
  phrase tables use to the simplified form (``說`` → ``说``);
- ``normalise``: fillers that show nothing are dropped, Cyrillic and Greek letters that look
  Latin fold to the Latin letter (a curated subset of Unicode TR39 confusables), 您 → 你;
- separators: only letters and digits are kept; ``gap`` remembers where a separator stood, so
  Latin phrases can respect word boundaries.

Two further views are computed lazily, only when a matcher asks for them: ``leet`` (digits and
``@``/``$`` read as letters, ``l`` read as ``i``, repeated letters collapsed, texting words
read out: ``1d10t``, ``stuuupid``, ``ur wrong``) and ``sounds`` (the pinyin of the Han
characters, from pypinyin's table, with and without tones: 搞措了 sounds like 搞错了).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Any

from pypinyin.pinyin_dict import pinyin_dict

FILLERS = "\u3164\u115f\u1160\uffa0\u2800"

# Cyrillic and Greek → Latin, lower and upper case (TR39 confusables.txt, "MA" table).
_CONFUSABLES = (
    "аa еe оo рp сc уy хx іi јj ѕs ԁd һh ӏl ԛq ԝw "
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ІI ЈJ ЅS "
    "αa οo ρp νv ιi κk τt υu χx ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX"
)
CONFUSABLES: dict[str, str] = {pair[0]: pair[1] for pair in _CONFUSABLES.split()}
PRONOUNS: dict[str, str] = {"您": "你"}

# Traditional → simplified for the characters of phrases/*.toml. Each pair is written once;
# tests/unit/test_guard.py keeps the table consistent. 覆 → 复 only matters for matching
# (回覆 is the Taiwanese spelling of 回复); 妳 is a form of 你.
_PAIRS = (
    "錯错 經经 說说 聽听 嗎吗 麼么 塗涂 這这 與与 無无 關关 歸归 辦办 沒没 筆笔 媽妈 "
    "馬马 癡痴 腦脑 殘残 廢废 滾滚 東东 復复 覆复 線线 斷断 頓顿 閃闪 務务 穩稳 網网 "
    "絡络 連连 錄录 遲迟 訴诉 舉举 報报 協协 會会 師师 體体 們们 領领 導导 妳你 "
    "處处 決决 懂懂 楚楚 係系 過过 曉晓 讓让 問问 題题 啥啥 謂谓 蛋蛋 槽槽 經经 "
    "蠢蠢 閉闭 嘴嘴 淡淡 神神 病病 瑪玛 錯错 誤误 勁劲 糊糊 暈晕 記记 解解 釋释 "
    "負负 責责 別别 個个 這这 們们 裡里 裏里 囉啰 嘍喽 喲哟 雞鸡 罵骂 貨货 豬猪 屬属"
)
TRADITIONAL: dict[str, str] = {pair[0]: pair[1] for pair in _PAIRS.split() if pair[0] != pair[1]}
# Spellings that differ by more than one character (甚麼 is how Hong Kong writes 什么).
_WORDS = (("甚么", "什么"),)

_NORMALISE = str.maketrans({**CONFUSABLES, **PRONOUNS, **dict.fromkeys(FILLERS, None)})
_TABLE = str.maketrans(TRADITIONAL)

# Leetspeak: what a digit or symbol stands for inside a Latin word. ``l`` is read as ``i``
# on both sides (text and phrase), as TR39 skeletons do, so ``1`` can stand for either.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "l": "i"}  # fmt: skip
_LEET = str.maketrans(LEET)
# Texting words, read as what they stand for in the same view ("ur wrong", "U R WRONG").
TEXTING = {"u": "you", "ur": "youre", "r": "are", "ya": "you", "yr": "youre"}
_TEXTING = re.compile(r"(?<![^\W_])(?:u|ur|r|ya|yr)(?![^\W_])")
_REPEATS = re.compile(r"([a-z])\1+")  # stuuupid → stupid
_TONES = {"\u0304": "1", "\u0301": "2", "\u030c": "3", "\u0300": "4"}


def _combining_class() -> str:
    """A regex class of the combining marks of the Basic Multilingual Plane (accents, pinyin
    tone marks, kana voicing marks), built once at import."""
    marks = [chr(code) for code in range(0x300, 0x10000) if unicodedata.combining(chr(code))]
    return "[" + "".join(re.escape(mark) for mark in marks) + "]"


_COMBINING = re.compile(_combining_class())


def normalise(text: str) -> str:
    """Fillers dropped, confusable letters and pronoun variants folded."""
    return text.translate(_NORMALISE)


_HAN_RANGE = "\u3400-\u9fff\U00020000-\U0002ebef"
_HAN = re.compile(f"[{_HAN_RANGE}]")
_LATIN = re.compile("[a-z]")
_TONED = re.compile("[a-z][1-5]")
_SPLIT = re.compile(r"([^\W_]+)")  # runs of letters and digits (str.isalnum)


def is_han(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\U00020000" <= char <= "\U0002ebef"


def has_latin(chars: str) -> bool:
    return _LATIN.search(chars) is not None


def _is_word_char(char: str) -> bool:
    """A letter or digit of a script that separates words with spaces (not CJK)."""
    return unicodedata.east_asian_width(char) not in ("W", "F")


@dataclass(frozen=True)
class View:
    """Letters and digits of a text; ``gap[i]`` says a separator stood before ``i``."""

    chars: str
    gap: tuple[bool, ...]  # len(chars) + 1 entries; the last one is the end of the text
    stop: tuple[bool, ...] = ()  # the same, for punctuation (not only spaces) or the end

    def ends_sentence(self, index: int) -> bool:
        """Whether punctuation or the end of the text follows ``index`` (no stops: always)."""
        return not self.stop or self.stop[index]

    def boundary(self, index: int) -> bool:
        """Whether a word may start (or end) at ``index``."""
        if index <= 0 or index >= len(self.chars) or self.gap[index]:
            return True
        return not (_is_word_char(self.chars[index - 1]) and _is_word_char(self.chars[index]))


def _view(pairs: list[tuple[str, bool, bool]]) -> View:
    """A view from (character, separator before, punctuation before) triples."""
    return View(
        "".join(char for char, _, _ in pairs),
        (*(gap for _, gap, _ in pairs), True),
        (*(stop for _, _, stop in pairs), True),
    )


@dataclass(frozen=True)
class Folded(View):
    """The exact view of a text, and the lazily computed leet and pinyin views."""

    lowered: str = field(default="", compare=False, repr=False)
    # What each matcher found in this text (service/templates/matching.py), filled on first use.
    memo: dict[object, Any] = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def leet(self) -> View | None:
        """Digits and symbols read as letters, repeats collapsed; None without Latin letters."""
        if not has_latin(self.chars):
            return None
        text = _TEXTING.sub(lambda word: TEXTING[word[0]], self.lowered.translate(_LEET))
        chars, gap, stop = _runs(text, _REPEATS)
        return View(chars, gap, stop)

    @cached_property
    def toneless(self) -> View | None:
        """Tone digits after Latin letters dropped (``ni3 gao3``); None if there are none."""
        if _TONED.search(self.chars) is None:
            return None
        pairs = [
            (char, self.gap[i], self.stop[i])
            for i, char in enumerate(self.chars)
            if not (char in "12345" and i and "a" <= self.chars[i - 1] <= "z")
        ]
        return _view(pairs)

    @cached_property
    def sounds(self) -> tuple[str, str] | None:
        """The text's pinyin, toneless and toned (`` ni gao cuo le ``), or None without Han."""
        return sounds(self.chars)


_SYLLABLES: dict[str, tuple[str, str]] = {}
_NONE = ("#", "#")


def syllable(char: str) -> tuple[str, str] | None:
    """The first reading of a Han character: (toneless, with tone digit), from pypinyin."""
    found = _SYLLABLES.get(char)
    if found is None:
        found = _SYLLABLES[char] = _reading(char) or _NONE
    return None if found is _NONE else found


def _reading(char: str) -> tuple[str, str] | None:
    reading = pinyin_dict.get(ord(char))
    if reading is None:
        return None
    first = unicodedata.normalize("NFKD", reading.split(",")[0])
    tone = next((_TONES[mark] for mark in first if mark in _TONES), "5")
    bare = "".join(c for c in first if not unicodedata.combining(c))
    return bare, bare + tone


def sounds(chars: str) -> tuple[str, str] | None:
    """Pinyin keys of ``chars``: each syllable between spaces; other characters as ``#``."""
    if _HAN.search(chars) is None:
        return None
    table = _SYLLABLES
    pairs = [table.get(char) or (syllable(char) if is_han(char) else None) or _NONE
             for char in chars]  # fmt: skip
    toneless = " ".join([pair[0] for pair in pairs])
    toned = " ".join([pair[1] for pair in pairs])
    return f" {toneless} ", f" {toned} "


@functools.lru_cache(maxsize=1024)
def fold(text: str) -> Folded:
    """The text as the matcher compares it; cached, as one message is matched several times
    (abuse, suggestions, complaint keywords). Read-only: callers must not change it."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = _COMBINING.sub("", decomposed) if not decomposed.isascii() else decomposed
    # Last, on what width, case and traditional folding left (fillers decompose to U+1160).
    lowered = normalise(unicodedata.normalize("NFKC", stripped).casefold().translate(_TABLE))
    for old, new in _WORDS:
        lowered = lowered.replace(old, new)
    chars, gap, stop = _runs(lowered)
    return Folded(chars, gap, stop, lowered)


def _runs(
    text: str, repeats: re.Pattern[str] | None = None
) -> tuple[str, tuple[bool, ...], tuple[bool, ...]]:
    """The letters and digits of ``text`` with, per character, whether a separator (``gap``)
    or a separator that is not only white space (``stop``) stood before it."""
    if repeats is not None:
        text = repeats.sub(r"\1", text)
    parts = _SPLIT.split(text)  # separator, word, separator, …, separator
    words = parts[1::2]
    marks = [i == 0 or bool(parts[2 * i].strip()) for i in range(len(words))]
    gap = (*chain.from_iterable(_starts(len(word)) for word in words), True)
    pairs = zip(words, marks, strict=True)
    stop = (*chain.from_iterable(_starts(len(word), mark) for word, mark in pairs), True)
    return "".join(words), gap, stop


@functools.lru_cache(maxsize=256)
def _starts(length: int, first: bool = True) -> tuple[bool, ...]:
    return (first,) + (False,) * (length - 1)

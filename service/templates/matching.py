"""The one matcher behind every list: taboo phrases (S-forbidden-phrases), agent profanity,
abuse (S-abuse), complaint keywords (S-record), slow-reply and stability suggestions.

Built once per catalogue from folded phrases (service/templates/folding.py: the same folding for
every list), pure and synchronous. Each view of a message is scanned by one precompiled regex,
a trie of all the view's keys, so a message costs one pass per view however long the lists are:

- exact: the folded letters and digits (all lists); the same scan finds the halves of the
  phrases that tolerate one edit (``fuzzy``), and a half found is checked by a small edit test;
- leet: digits and symbols read as letters (``y0u``, ``1d10t``, ``stuuupid``), Latin phrases;
- sounds: the pinyin of the Han characters (homophones 搞措了), toneless for phrases of three
  syllables or more, toned for two (白痴 but not 白吃 ... both are bai2 chi1; see docs), and
  the same pinyin typed in Latin letters (``ni gao cuo le``, ``nǐ gǎo cuò le``, ``sha bi``);
- whole message: bare answers (不知道) compared with the whole text, after particles and
  filler words at either end are set aside (不知道啊, 我也不知道, ``honestly I don't know``).

Latin keys start at a word boundary and, when ``word_end`` is set, end at one; Han keys match
anywhere. ``find`` returns every entry found, in entry order, with how it was found.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from service.templates.edits import OneEdit
from service.templates.folding import Folded, View, fold, has_latin, is_han, normalise, sounds

__all__ = ["Entry", "Match", "Matcher", "fold", "normalise"]

EXACT, LEET, SOUNDS, FUZZY, BARE = "exact", "leet", "pinyin", "fuzzy", "bare"
FUZZY_MIN = 4  # one edit only in phrases of at least this many letters (false positives)

_Keep = Callable[[int, str], object]


@dataclass(frozen=True)
class Entry:
    kind: str  # forbidden, profanity, abuse, complaint, slow_reply, stability
    phrase: str  # what a hit reports: the handbook phrase, the keyword
    written: str  # the wording matched: the phrase itself, a synonym, an abbreviation
    replacement: str = ""
    locale: str = ""
    whole_message: bool = False
    word_end: bool = False
    fuzzy: bool = False
    sounds: bool = False
    leet: bool = False
    question: bool = False  # written with a final "?": punctuation or the end must follow
    swap_only: bool = False  # the one edit read is two letters swapped, nothing else


@dataclass(frozen=True)
class Match:
    entry: Entry
    index: int  # the entry's place in the matcher: earlier entries win
    how: str


class _Index:
    """Keys of one view → entry ids, scanned by one regex (a trie of the keys)."""

    def __init__(self) -> None:
        self.keys: dict[str, list[int]] = {}
        self._regex: re.Pattern[str] | None = None
        self._lengths: tuple[int, ...] = ()

    def add(self, key: str, value: int) -> None:
        if key:
            self.keys.setdefault(key, []).append(value)

    def compile(self) -> None:
        if self.keys:
            self._regex = re.compile(f"(?=({_trie(sorted(self.keys))}))")
            self._lengths = tuple(sorted({len(key) for key in self.keys}))

    def scan(self, text: str) -> Iterator[tuple[int, int, int]]:
        """(start, end, value) for every key found in ``text``, overlaps included."""
        if self._regex is None:
            return
        for found in self._regex.finditer(text):
            start, longest = found.start(), found.group(1)
            for length in self._lengths:
                if length > len(longest):
                    break
                for value in self.keys.get(longest[:length], ()):
                    yield start, start + length, value


def _trie(words: Sequence[str]) -> str:
    """One regex alternation shaped as a trie: at most one branch per character is tried."""
    root: dict[str, dict] = {}  # type: ignore[type-arg]
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def build(node: dict) -> str:  # type: ignore[type-arg]
        branches = [re.escape(char) + build(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"
        return f"(?:{body})?" if "" in node else body

    return build(root)


class Matcher:
    """Every list's entries, indexed once; ``find`` screens a message against chosen kinds."""

    def __init__(
        self,
        entries: Sequence[Entry],
        before: Iterable[str] = (),
        after: Iterable[str] = (),
        not_sounds: Iterable[str] = (),
    ) -> None:
        """``before``, ``after``: words set aside at the start and the end of a bare answer;
        ``not_sounds``: words never read as homophones of an entry."""
        self._not_sounds = frozenset(fold(word).chars for word in not_sounds)
        self.entries = tuple(entries)
        self._exact, self._leet, self._latin = _Index(), _Index(), _Index()
        self._toneless, self._toned, self._pairs = _Index(), _Index(), _Index()
        self._fuzzy: list[OneEdit] = []
        self._whole: dict[str, list[int]] = {}
        self._before = _folded_words(before)
        self._after = _folded_words(after)
        self._particles = frozenset(w for w in self._after if len(w) == 1 and is_han(w))
        self._uses: dict[str, set[str]] = {}
        self._gaps: list[frozenset[int]] = []  # where each entry's words part, by entry
        self._leet_gaps: list[frozenset[int]] = []
        for index, entry in enumerate(self.entries):
            self._add(index, entry)
        for view in (
            self._exact,
            self._leet,
            self._latin,
            self._toneless,
            self._toned,
            self._pairs,
        ):
            view.compile()
        self._longest_whole = max((len(key) for key in self._whole), default=0)
        used = set().union(*self._uses.values())
        self._fuzzy_used, self._leet_used = FUZZY in used, LEET in used
        self._sounds_used = SOUNDS in used

    def _add(self, index: int, entry: Entry) -> None:
        folded = fold(entry.written)
        if not folded.chars:
            raise ValueError(f"{entry.written!r} has no letters or digits to match")
        self._gaps.append(_inner_gaps(folded))
        self._leet_gaps.append(_inner_gaps(folded.leet) if folded.leet else frozenset())
        uses = self._uses.setdefault(entry.kind, set())
        han = all(is_han(char) for char in folded.chars)
        keys = sounds(folded.chars) if entry.sounds and han and len(folded.chars) > 1 else None
        if entry.whole_message:
            uses.add(BARE)
            for key in _with_a_word(folded, self._before):
                self._whole.setdefault(key, []).append(index)
            if keys is not None:
                self._whole.setdefault(_sound_key(keys, len(folded.chars)), []).append(index)
                self._whole.setdefault(keys[0].replace(" ", ""), []).append(index)
            return
        self._exact.add(folded.chars, index)
        if entry.fuzzy and folded.chars[-1] in self._particles:  # 您搞错啦 for 您搞错了
            for particle in self._particles:
                self._exact.add(folded.chars[:-1] + particle, index)
        if entry.fuzzy and len(folded.chars) >= FUZZY_MIN:
            uses.add(FUZZY)
            half = len(folded.chars) // 2
            probe = -1 - 2 * len(self._fuzzy)  # negative values are probes, not entries
            self._fuzzy.append(OneEdit.of(folded, index, entry.swap_only))
            self._exact.add(folded.chars[:half], probe)  # -1 - 2i: the left half of i
            self._exact.add(folded.chars[half:], probe - 1)
        if entry.leet and not han and len(folded.chars) >= 4 and folded.leet is not None:
            uses.add(LEET)
            self._leet.add(folded.leet.chars, index)
        if keys is not None:
            uses.add(SOUNDS)
            target = self._toneless if len(folded.chars) >= 3 else self._toned
            target.add(_sound_key(keys, len(folded.chars)), index)
            if len(folded.chars) == 2:  # 傻比 for 傻逼: other tones, one character kept
                self._pairs.add(keys[0], index)
            self._latin.add(keys[0].replace(" ", ""), index)

    def find(self, text: str, kinds: frozenset[str]) -> list[Match]:
        """Every entry of ``kinds`` found in ``text``, in entry order, each once."""
        return self.match(fold(text), kinds)

    def match(self, folded: Folded, kinds: frozenset[str]) -> list[Match]:
        """``find`` on text already folded. Every list is matched in one go and remembered
        with the folded text, so the guard, abuse, complaint and suggestion lookups of one
        message share the work."""
        found = folded.memo.get(self)
        if found is None:
            found = folded.memo[self] = self._all(folded)
        return [match for match in found if match.entry.kind in kinds]

    def _all(self, folded: Folded) -> list[Match]:
        found: dict[int, str] = {}
        keep = found.setdefault
        self._scan_exact(folded, keep, self._fuzzy_used)
        if self._leet_used and (leet := folded.leet) is not None and leet.chars != folded.chars:
            for start, end, index in self._leet.scan(leet.chars):
                if self._bounded(leet, start, end, index, self._leet_gaps):
                    keep(index, LEET)
        if self._sounds_used:
            self._scan_sounds(folded, keep)
        if self._whole and len(folded.chars) <= self._longest_whole + 8:
            for index in self._bare(folded):
                keep(index, BARE)
        return [Match(self.entries[i], i, found[i]) for i in sorted(found)]

    def _bounded(
        self, view: View, start: int, end: int, index: int, gaps: list[frozenset[int]] | None = None
    ) -> bool:
        entry = self.entries[index]
        return (
            view.boundary(start)
            and (not entry.word_end or view.boundary(end))
            and (not entry.question or view.ends_sentence(end))
            and (gaps is None or _same_words(view, start, end, gaps[index]))
        )

    def _scan_exact(self, folded: Folded, keep: _Keep, fuzzy: bool) -> None:
        for start, end, value in self._exact.scan(folded.chars):
            if value >= 0:
                if self._bounded(folded, start, end, value, self._gaps):
                    keep(value, EXACT)
            elif fuzzy:  # a half of a fuzzy phrase: one edit leaves one half whole
                code = -1 - value
                self._near(folded, code // 2, start, end, code % 2 == 0, keep)

    def _near(
        self, folded: Folded, probe: int, start: int, end: int, left: bool, keep: _Keep
    ) -> None:
        fuzzy = self._fuzzy[probe]
        n, chars = len(fuzzy.phrase), folded.chars
        for size in (n - 1, n, n + 1):
            begin, finish = (start, start + size) if left else (end - size, end)
            if begin < 0 or finish > len(chars):
                continue
            if fuzzy.edited(chars[begin:finish]) and self._bounded(
                folded, begin, finish, fuzzy.entry
            ):
                keep(fuzzy.entry, FUZZY)

    def _scan_sounds(self, folded: Folded, keep: _Keep) -> None:
        keys = folded.sounds
        if keys is not None:
            for key, index_ in ((keys[0], self._toneless), (keys[1], self._toned)):
                for start, _end, index in index_.scan(key):
                    if self._heard(folded, key, start, index) is not None:
                        keep(index, SOUNDS)
            for start, _end, index in self._pairs.scan(keys[0]):
                heard = self._heard(folded, keys[0], start, index)
                written = fold(self.entries[index].written).chars
                if heard is not None and any(a == b for a, b in zip(heard, written, strict=True)):
                    keep(index, SOUNDS)
        if not has_latin(folded.chars):
            return
        for view in (folded, folded.toneless):
            if view is None:
                continue
            for start, end, index in self._latin.scan(view.chars):
                if view.boundary(end) and self._bounded(view, start, end, index):
                    keep(index, SOUNDS)

    def _heard(self, folded: Folded, key: str, start: int, index: int) -> str | None:
        """The characters that sound like entry ``index``, unless they are a word of their
        own that only sounds alike (白吃 is no 白痴: ``[not_homophones]``)."""
        at = key.count(" ", 0, start)
        end = at + len(fold(self.entries[index].written).chars)
        heard = folded.chars[at:end]
        if self.entries[index].question and not folded.ends_sentence(end):
            return None
        return None if heard in self._not_sounds else heard

    def _bare(self, folded: Folded) -> Iterator[int]:
        """Whole-message entries the text is, once particles and filler words are set aside."""
        chars = folded.chars
        if chars.startswith(self._before) or chars.endswith(self._after):
            rests: Iterable[str] = _stripped(chars, self._before, self._after)
        else:
            rests = (chars,)
        for rest in rests:
            yield from self._whole.get(rest, ())
            if len(rest) > self._longest_whole:
                continue
            keys = sounds(rest) if rest else None
            if keys is not None:
                yield from self._whole.get(_sound_key(keys, len(rest)), ())
            elif rest.isascii():
                yield from self._whole.get(_TONE_DIGITS.sub("", rest), ())


_TONE_DIGITS = re.compile(r"(?<=[a-z])[1-5]")


def _inner_gaps(view: View) -> frozenset[int]:
    return frozenset(i for i in range(1, len(view.chars)) if view.gap[i])


def _same_words(view: View, start: int, end: int, gaps: frozenset[int]) -> bool:
    """A Latin match may not run across a space its phrase does not have ("complain to" is
    no "complaint"), unless the text is spelled out letter by letter (``y o u a r e``)."""
    if view.chars[start] > "z" or not view.chars[start].isascii():
        return True
    inner = {i - start for i in range(start + 1, end) if view.gap[i]}
    return inner <= gaps or len(inner) == end - start - 1


def _sound_key(keys: tuple[str, str], syllables: int) -> str:
    """Three syllables or more compare without tones; two keep them (白痴, not 拜吃)."""
    return keys[0] if syllables >= 3 else keys[1]


def _with_a_word(folded: View, words: Sequence[str]) -> set[str]:
    """A Latin bare answer with one filler word between its words ("I really don't know")."""
    chars = folded.chars
    keys = {chars}
    if chars.isascii():
        for at in range(1, len(chars)):
            if folded.gap[at]:
                keys.update(chars[:at] + word + chars[at:] for word in words if word.isascii())
    return keys


def _folded_words(words: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted({fold(word).chars for word in words} - {""}, key=len))


def _stripped(chars: str, before: Sequence[str], after: Sequence[str], depth: int = 4) -> set[str]:
    """``chars`` and what is left once up to ``depth`` words leave its start or its end."""
    seen = {chars}
    frontier = [chars]
    for _ in range(depth):
        following: list[str] = []
        for text in frontier:
            rests = [text[len(word) :] for word in before if text.startswith(word)]
            rests += [text[: -len(word)] for word in after if text.endswith(word)]
            for rest in rests:
                if rest and rest not in seen:
                    seen.add(rest)
                    following.append(rest)
        frontier = following
    return seen

"""One edit of a long phrase (S-forbidden-phrases): which edits count, and where.

A written form is the phrase with one character inserted, substituted or dropped, or two
swapped, at a place where that edit keeps its meaning: never the first or the last character
(我搞错了 is no edit of 你搞错了), never a pronoun (我被搞糊涂了 is the handbook's own answer),
in Latin only inside a word ("I can do that" stays one dropped letter from "I can't do that").
service/templates/matching.py finds the candidates (one half of the phrase is always whole).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from service.templates.folding import View, is_han

PRONOUNS = frozenset("你我他她它")


@dataclass(frozen=True)
class OneEdit:
    phrase: str
    entry: int  # the matcher's entry this phrase stands for
    insert: frozenset[int]  # k: a character may stand between phrase[k-1] and phrase[k]
    substitute: frozenset[int]
    delete: frozenset[int]
    swap: frozenset[int]  # k: phrase[k] and phrase[k + 1] may stand the other way round

    @classmethod
    def of(cls, folded: View, entry: int, swap_only: bool = False) -> OneEdit:
        n = len(folded.chars)
        if swap_only:  # an abuse word: "idoit", never "batch" for "bitch"
            nothing: frozenset[int] = frozenset()
            return cls(folded.chars, entry, nothing, nothing, nothing, frozenset(range(1, n - 2)))
        if is_han(folded.chars[0]):
            # Interior only, the ends stay: 我搞错了 is no edit of 你搞错了; four characters
            # take only an insertion (你搞定了 is no taboo), a dropped one needs six
            # (你说什么时候 is not 你说的什么 with 的 dropped).
            # Nor may it drop or change a pronoun: 我被搞糊涂了 is the handbook's own answer.
            inner = frozenset(k for k in range(1, n - 1) if folded.chars[k] not in PRONOUNS)
            changed = inner if n >= 5 else frozenset()
            return cls(
                folded.chars,
                entry,
                frozenset(range(1, n)),
                changed,
                inner if n >= 6 else frozenset(),
                frozenset(k for k in changed if k + 1 in changed),
            )
        # Latin: inside a word of four letters or more; a dropped letter only inside a word of
        # five ("I can do that" is one dropped letter from "I can't do that": can, t).
        words = [i for i in range(n) if folded.gap[i]] + [n]
        insert: set[int] = set()
        substitute: set[int] = set()
        delete: set[int] = set()
        for start, end in pairwise(words):
            if end - start >= 4:
                insert.update(range(start + 1, end))
                substitute.update(range(start + 1, end))
            if end - start >= 5:
                delete.update(range(start + 1, end - 1))
        swaps = frozenset(k for k in substitute if k + 1 in substitute)
        return cls(
            folded.chars, entry, frozenset(insert), frozenset(substitute), frozenset(delete), swaps
        )

    def edited(self, window: str) -> bool:
        """Whether ``window`` is the phrase with one allowed edit."""
        p = self.phrase
        if len(window) == len(p):
            diffs = [k for k in range(len(p)) if window[k] != p[k]]
            if len(diffs) == 2 and diffs[1] == diffs[0] + 1:  # two letters swapped: "wiht"
                k = diffs[0]
                swapped = window[k] == p[k + 1] and window[k + 1] == p[k]
                return swapped and k in self.swap
            return len(diffs) == 1 and diffs[0] in self.substitute
        if len(window) == len(p) + 1:
            return any(window[:k] == p[:k] and window[k + 1 :] == p[k:] for k in self.insert)
        if len(window) == len(p) - 1:
            return any(window == p[:k] + p[k + 1 :] for k in self.delete)
        return False

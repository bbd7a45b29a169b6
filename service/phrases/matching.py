"""Code-point normalisation shared by every keyword list (first step of issue #10 item 5).

Pure and synchronous. ``normalise`` is the last step of the guard's fold
(service/phrases/guard.py), applied to what width, case and traditional folding left:

- filler code points that Unicode classes as letters but that show nothing are dropped
  (U+3164 HANGUL FILLER, U+115F/U+1160, U+FFA0 HALFWIDTH HANGUL FILLER, U+2800 BRAILLE BLANK);
  default-ignorable format and mark characters (ZWJ, ZWSP, variation selectors, soft hyphen)
  are already dropped by the fold, which keeps only letters and digits;
- a curated subset of Unicode TR39 confusables (confusables.txt, Unicode 15.1) folds Cyrillic
  and Greek letters that look like Latin ones to the Latin letter (``уоu` → ``you``);
- 您 is folded to 你, so a taboo written with either pronoun matches both.
"""

from __future__ import annotations

FILLERS = "\u3164\u115f\u1160\uffa0\u2800"

# Cyrillic and Greek → Latin, lower and upper case (TR39 confusables.txt, "MA" table).
_CONFUSABLES = (
    "аa еe оo рp сc уy хx іi јj ѕs ԁd һh ӏl ԛq ԝw "
    "АA ВB ЕE КK МM НH ОO РP СC ТT ХX УY ІI ЈJ ЅS "
    "αa οo ρp νv ιi κk τt υu χx ΑA ΒB ΕE ΖZ ΗH ΙI ΚK ΜM ΝN ΟO ΡP ΤT ΥY ΧX"
)
CONFUSABLES: dict[str, str] = {pair[0]: pair[1] for pair in _CONFUSABLES.split()}
PRONOUNS: dict[str, str] = {"您": "你"}

_TABLE = str.maketrans({**CONFUSABLES, **PRONOUNS, **dict.fromkeys(FILLERS, None)})


def normalise(text: str) -> str:
    """Fillers dropped, confusable letters and pronoun variants folded."""
    return text.translate(_TABLE)

"""Finding personal information in free text, and masking it (S-privacy). Pure functions.

Four kinds: mainland mobile numbers, 18-digit resident ID numbers (their ISO 7064 MOD 11-2
check digit and birth date must be right), bank cards (16-19 digits, an issuer's first digit,
Luhn) and emails. A number counts only as a whole: a digit or a Latin letter right beside it
means it is part of something longer (an order number, a game id), which is not masked.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import date


class Kind(enum.StrEnum):
    phone = "phone"
    id_card = "id_card"
    bank_card = "bank_card"
    email = "email"


@dataclass(frozen=True, slots=True)
class Finding:
    kind: Kind
    start: int
    end: int


# Not glued to another digit or Latin letter: "订单2026010312345" is not a phone number.
_BEFORE = r"(?<![0-9A-Za-z])"
_AFTER = r"(?![0-9A-Za-z])"
_SEP = r"[ \-]?"
# +86 / 0086 / 86, then 1[3-9] and nine digits, optionally grouped 3-4-4 by a space or dash.
PHONE = re.compile(
    _BEFORE + r"(?:(?:\+|00)?86[ \-]?)?(1[3-9]\d" + _SEP + r"\d{4}" + _SEP + r"\d{4})" + _AFTER
)
ID_CARD = re.compile(_BEFORE + r"([1-9]\d{16}[0-9Xx])" + _AFTER)
# Grouped by fours (with spaces or dashes) or written in one run.
BANK_CARD = re.compile(
    _BEFORE + r"([3-6]\d{3}(?:[ \-]\d{4}){3}(?:[ \-]?\d{1,3})?|[3-6]\d{15,18})" + _AFTER
)
EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])([A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,})(?![A-Za-z0-9-])"
)

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits (GB 11643)."""
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def valid_id_card(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2100:
        return False
    return id_check_digit(number[:17]) == number[17].upper()


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(char for char in text if char.isdigit())


def find(text: str) -> list[Finding]:
    """Every piece of personal information in ``text``, in order, never overlapping."""
    found: list[Finding] = []

    def free(start: int, end: int) -> bool:
        return all(end <= f.start or start >= f.end for f in found)

    # Longest, strictest first: an ID number holds 11-digit runs that are not phones.
    for match in ID_CARD.finditer(text):
        if valid_id_card(match.group(1)):
            found.append(Finding(Kind.id_card, *match.span(1)))
    for match in BANK_CARD.finditer(text):
        digits = _digits(match.group(1))
        if 16 <= len(digits) <= 19 and luhn(digits) and free(*match.span(1)):
            found.append(Finding(Kind.bank_card, *match.span(1)))
    for match in PHONE.finditer(text):
        if free(*match.span(1)):
            found.append(Finding(Kind.phone, *match.span(1)))
    for match in EMAIL.finditer(text):
        if free(*match.span(1)):
            found.append(Finding(Kind.email, *match.span(1)))
    return sorted(found, key=lambda f: f.start)


def _hide_digits(text: str, keep_first: int, keep_last: int) -> str:
    """Digits replaced by ``*`` except the first and last few; separators kept."""
    positions = [i for i, char in enumerate(text) if char.isdigit() or char in "Xx"]
    hidden = set(positions[keep_first : len(positions) - keep_last])
    return "".join("*" if i in hidden else char for i, char in enumerate(text))


def mask_one(kind: Kind, value: str) -> str:
    if kind is Kind.phone:
        return _hide_digits(value, 3, 4)  # 138****8000
    if kind is Kind.id_card:
        return _hide_digits(value, 1, 1)  # 1****************X: no region, no birth date
    if kind is Kind.bank_card:
        return _hide_digits(value, 0, 4)  # ************1234
    local, _, domain = value.partition("@")
    return f"{local[0]}***@{domain}"


def mask(text: str) -> str:
    """``text`` with every finding masked; text without any comes back unchanged."""
    found = find(text)
    if not found:
        return text
    parts: list[str] = []
    last = 0
    for finding in found:
        parts += [
            text[last : finding.start],
            mask_one(finding.kind, text[finding.start : finding.end]),
        ]
        last = finding.end
    parts.append(text[last:])
    return "".join(parts)

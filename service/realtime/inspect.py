"""What every decoded frame must be before any model sees it: shallow, finite, storable.

One pass over the raw text bounds the nesting (``json`` recurses per level), and one walk over
the decoded value refuses what no field may hold on either database: NUL, unpaired surrogates,
non-finite numbers and integers outside a signed 64-bit column.
"""

from __future__ import annotations

import math
import re
from typing import Any

from service.errors import BadFrame

MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
# A NUL or a UTF-16 surrogate code point (lone ones survive json.loads as "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def depth_of(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets in strings skipped)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_STRINGS.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_depth(text: str, limit: int = MAX_DEPTH) -> None:
    """Refuse nesting over ``limit`` before ``json.loads`` recurses into it."""
    if text.count("[") + text.count("{") <= limit:
        return  # the usual frame: too few brackets to be too deep, no scan needed
    if depth_of(text) > limit:
        raise BadFrame(f"frame nested deeper than {limit} levels")


def refuse_constant(name: str) -> float:
    """``parse_constant`` for json.loads: NaN, Infinity and -Infinity are not numbers here."""
    raise BadFrame(f"{name} is not a number this protocol accepts")


def unstorable(text: str) -> str | None:
    """Why a string cannot be stored or sent (a NUL, an unpaired surrogate), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    return "NUL character" if found.group() == "\x00" else "unpaired surrogate"


def check_value(value: Any, where: str = "frame") -> None:
    """Walk a decoded JSON value once; raise BadFrame at the first value no field may hold."""
    if isinstance(value, str):
        reason = unstorable(value)
        if reason is not None:
            raise BadFrame(f"{where}: {reason} not allowed")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT64_MIN <= value <= INT64_MAX:
            raise BadFrame(f"{where}: integer outside the signed 64-bit range")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise BadFrame(f"{where}: number out of range")
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = unstorable(key)
            if reason is not None:
                raise BadFrame(f"{where}: {reason} not allowed in a key")
            name = key if len(key) <= 32 else key[:32] + "…"
            check_value(item, name if where == "frame" else f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_value(item, f"{where}[{index}]")


def safe_ref(value: Any) -> str | None:
    """A client_id fit to echo as ``ref``: a short string that can be encoded and stored."""
    if isinstance(value, str) and 0 < len(value) <= 64 and unstorable(value) is None:
        return value
    return None

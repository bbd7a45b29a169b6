"""What every decoded frame must be before any model sees it: shallow, finite, storable.

One pass over the raw text bounds the nesting (``json`` recurses per level), and one walk over
the decoded value refuses what no field may hold on either database: NUL, unpaired surrogates,
non-finite numbers and integers outside a signed 64-bit column.
"""

from __future__ import annotations

import math
import operator
import re
from itertools import accumulate
from typing import Any

from service.errors import BadFrame

MAX_DEPTH = 32
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# A string, or an unterminated one to the end: every '"' starts a match that cannot fail, so
# the scan is linear (a pattern that must find the closing quote retries at every '"').
_STRINGS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_WEIGHTS = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
# A NUL or a UTF-16 surrogate code point (lone ones survive json.loads as "\ud800").
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def depth_of(text: str) -> int:
    """The deepest nesting of arrays and objects in a JSON text (brackets in strings skipped).

    In C loops only: an opening bracket counts 2 and a closing one 0, so after ``i`` brackets
    the running sum less ``i`` is the depth there.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text)).encode().translate(_WEIGHTS)
    return max(map(operator.sub, accumulate(brackets), range(1, len(brackets) + 1)), default=0)


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
    """Walk a decoded JSON value once; raise BadFrame at the first value no field may hold.

    The walk is a flat loop (a frame of 64 KiB holds some 20,000 values); only a value that
    fails is walked again, recursively, to name where it is.
    """
    stack = [value]
    pop, extend = stack.pop, stack.extend
    while stack:
        item = pop()
        kind = type(item)
        if kind is str:
            if _UNSTORABLE.search(item) is not None:
                break
        elif kind is int:
            if not INT64_MIN <= item <= INT64_MAX:
                break
        elif kind is float:
            if not math.isfinite(item):
                break
        elif kind is dict:
            if any(_UNSTORABLE.search(key) is not None for key in item):
                break
            extend(item.values())
        elif kind is list:
            extend(item)
    else:
        return
    _locate(value, where)
    raise BadFrame(f"{where}: a value no field may hold")  # _locate names it; never reached


def _locate(value: Any, where: str) -> None:
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
            _locate(item, name if where == "frame" else f"{where}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _locate(item, f"{where}[{index}]")


def safe_ref(value: Any) -> str | None:
    """A client_id fit to echo as ``ref``: a short string that can be encoded and stored."""
    if isinstance(value, str) and 0 < len(value) <= 64 and unstorable(value) is None:
        return value
    return None

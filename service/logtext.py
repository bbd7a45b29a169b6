"""Client input in a log line: quoted and escaped, so it can neither forge a line nor colour one.

``repr`` turns a newline into ``\\n`` and an ANSI escape into ``\\x1b``, and keeps CJK readable.
"""

from __future__ import annotations

LIMIT = 64


def shown(value: object, limit: int = LIMIT) -> str:
    text = value if isinstance(value, str) else str(value)
    return repr(text[:limit] + "…" if len(text) > limit else text)

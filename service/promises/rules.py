"""The rules of a promise, pure: no database, no clock (S-callback, S-callback-24h).

A promise names a time. It is refused in the past and beyond the limit (24 h: a promised
callback happens the same day, at the latest within 24 hours). The owner is reminded a lead
time before it falls due, or at once when the promise is sooner than that.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta

from service.errors import PromiseRefused

LIMIT = timedelta(hours=24)


class Kind(enum.StrEnum):
    callback = "callback"  # S-callback: 我会在XX(时间)答复您
    follow_up = "follow_up"  # "I'll get back to you" on a complaint (S-follow-up)


class State(enum.StrEnum):
    open = "open"
    done = "done"


# The quick reply each kind sends, its time filled in.
TEMPLATE = {Kind.callback: "callback", Kind.follow_up: "get_back"}
KIND_OF_TEMPLATE = {key: kind for kind, key in TEMPLATE.items()}


def check_due(now: datetime, due_at: datetime, limit: timedelta = LIMIT) -> datetime:
    """``due_at`` if a promise may name it now; else PromiseRefused with a ``reason``.

    The time must be timezone-aware (a bare local time is ambiguous), later than now and at
    most ``limit`` ahead. Seconds are dropped (the customer is told minutes); the answer is UTC.
    """
    if due_at.tzinfo is None or due_at.utcoffset() is None:
        raise PromiseRefused(
            "due_at needs a timezone (e.g. 2026-01-05T18:00:00+08:00 or …Z)", reason="no_zone"
        )
    due = due_at.astimezone(UTC).replace(second=0, microsecond=0)
    if due <= now:
        raise PromiseRefused("the promised time has passed; name a later one", reason="past")
    if due - now > limit:
        hours = limit.total_seconds() / 3600
        raise PromiseRefused(
            f"S-callback-24h: a promise is kept within {hours:g} hours; name a sooner time",
            reason="too_far",
        )
    return due


def remind_at(now: datetime, due_at: datetime, lead: timedelta) -> datetime:
    """When the owner is reminded: ``lead`` before the due time, never before now."""
    return max(now, due_at - lead)


def is_overdue(state: str, due_at: datetime, now: datetime) -> bool:
    return state == State.open and due_at <= now

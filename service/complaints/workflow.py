"""The complaint workflow as data: statuses, the allowed moves, urgent reasons, deadlines, bands.

Pure: no database, no clock. The service asks it what a move means and when things fall due.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta

from service.settings import Settings


class Status(enum.StrEnum):
    draft = "draft"  # a keyword match waiting for the agent to confirm or dismiss
    open = "open"
    acknowledged = "acknowledged"
    escalated = "escalated"
    resolved = "resolved"  # answered (S-complaint-48h)
    followed_up = "followed_up"  # the follow-up result is recorded (S-follow-up)
    closed = "closed"
    dismissed = "dismissed"  # a keyword draft that was no complaint


class Source(enum.StrEnum):
    agent = "agent"
    customer = "customer"
    keyword = "keyword"
    survey = "survey"


class Reason(enum.StrEnum):
    """S-classes: any one of these makes a complaint urgent."""

    major = "major"
    skip_level = "skip_level"
    batch = "batch"
    repeat = "repeat"
    escalated = "escalated"
    cross_region = "cross_region"
    important_customer = "important_customer"
    sensitive_customer = "sensitive_customer"


# Detected by the server; the others are set by staff. Staff may remove any reason.
AUTOMATIC_REASONS = frozenset(
    {Reason.batch, Reason.repeat, Reason.important_customer, Reason.sensitive_customer}
)
STAFF_REASONS = frozenset(Reason) - AUTOMATIC_REASONS


class FollowUpResult(enum.StrEnum):
    satisfied = "satisfied"
    unsatisfied = "unsatisfied"
    unreachable = "unreachable"  # an attempt: recorded, but the follow-up is still due


class Band(enum.StrEnum):
    unsatisfied = "unsatisfied"
    average = "average"
    satisfied = "satisfied"


# The only moves; ``followed_up`` is reached by recording a follow-up, never by a bare move.
MOVES: Mapping[Status, frozenset[Status]] = {
    Status.draft: frozenset({Status.open, Status.dismissed}),
    Status.open: frozenset({Status.acknowledged, Status.escalated}),
    Status.acknowledged: frozenset({Status.escalated, Status.resolved}),
    Status.escalated: frozenset({Status.resolved}),
    Status.resolved: frozenset({Status.followed_up}),
    Status.followed_up: frozenset({Status.closed}),
    Status.closed: frozenset(),
    Status.dismissed: frozenset(),
}
ANSWER_PENDING = frozenset({Status.open, Status.acknowledged, Status.escalated})
FINISHED = frozenset({Status.closed, Status.dismissed})
# Rows that count as complaints: recorded, whatever happened to them since.
RECORDED = frozenset(Status) - {Status.draft, Status.dismissed}
# S-classes: an urgent complaint past "open" must have a named owner.
NEEDS_OWNER_WHEN_URGENT = frozenset(
    {Status.acknowledged, Status.escalated, Status.resolved, Status.followed_up}
)


def allowed(source: Status, target: Status) -> bool:
    return target in MOVES[source]


def band(score: int) -> Band:
    """S-satisfaction: 0–4 unsatisfied, 5–7 average, 8–10 satisfied."""
    if not 0 <= score <= 10:
        raise ValueError(f"score {score} is outside 0-10")
    if score <= 4:
        return Band.unsatisfied
    if score <= 7:
        return Band.average
    return Band.satisfied


def answer_window(settings: Settings, source: str, urgent: bool) -> timedelta:
    """S-complaint-48h, shorter when urgent; an unsatisfied survey: contact within a week."""
    hours = (
        settings.complaint_unsatisfied_h if source == Source.survey else settings.complaint_answer_h
    )
    if urgent:
        hours = min(hours, settings.complaint_urgent_answer_h)
    return timedelta(hours=hours)


def pending_due(
    status: str, answer_due_at: datetime | None, follow_up_due_at: datetime | None
) -> datetime | None:
    """The deadline that matters now: the answer, then the follow-up, then none."""
    if status in ANSWER_PENDING:
        return answer_due_at
    if status == Status.resolved:
        return follow_up_due_at
    return None

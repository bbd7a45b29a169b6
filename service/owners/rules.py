"""The rules of the chain of owners (S-first-responder), pure: what a field change means.

A chat's owner is its ``agent_id`` while it is assigned. Every change of it is an event: taken
from the queue (``routed``), passed on (``transfer``, ``shift_end``), taken back from its agent
(``accept_timeout``, ``offline``, ``gone``, a sign-out's reason) or ended (``closed``). The
reasons the chat left its agent without being handed on are drops, counted per agent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

ROUTED = "routed"
RECORDED = "recorded"  # a complaint's first holder: the agent who recorded it
TRANSFER = "transfer"
SHIFT_END = "shift_end"
CLOSED = "closed"
# Passed on to someone, or finished: not a drop. Anything else that takes a chat from its
# agent (accept_timeout, offline, gone, disabled, token_replaced) is a drop.
HANDED_ON = frozenset({ROUTED, TRANSFER, SHIFT_END, CLOSED})
# The machine's timestamps of the changes that move an owner, in the order they are read.
WHEN = ("assigned_at", "closed_at", "queued_since")


@dataclass(frozen=True)
class Change:
    at: datetime
    from_agent_id: int | None
    to_agent_id: int | None
    why: str


def is_drop(why: str) -> bool:
    return why not in HANDED_ON


def change_of(
    agent_id: int | None, status: str, fields: Mapping[str, Any], why: str | None
) -> Change | None:
    """The owner change that writing ``fields`` on a chat (owner ``agent_id``, ``status``)
    makes, or None. A change with no reason given is one from the queue (``routed``); a chat
    that leaves its agent must be told why (ValueError), so no chat loses its owner silently."""
    at = next((fields[name] for name in WHEN if fields.get(name) is not None), None)
    if fields.get("status") == CLOSED and status != CLOSED:
        if agent_id is None:
            return None
        return Change(_when(at), agent_id, None, CLOSED)
    if "agent_id" not in fields or fields["agent_id"] == agent_id:
        return None
    to = fields["agent_id"]
    if why is None:
        if agent_id is not None:
            raise ValueError(f"the chat leaves agent {agent_id}: say why (S-first-responder)")
        why = ROUTED
    return Change(_when(at), agent_id, to, why)


def _when(at: Any) -> datetime:
    if not isinstance(at, datetime):
        raise ValueError("an owner change carries its time (assigned_at, closed_at, queued_since)")
    return at


@dataclass(frozen=True)
class Span:
    """One owner's time with a chat: taken (how, when), left (how, when; None: still owns)."""

    agent_id: int
    took_at: datetime
    took_how: str
    left_at: datetime | None
    left_how: str | None


def chain(changes: Sequence[Change]) -> list[Span]:
    """The owners in order, from the changes in order: a change ends the open span (a transfer
    both ends one and starts the next) and opens one for its new owner, if any."""
    spans: list[Span] = []
    for change in changes:
        if spans and spans[-1].left_at is None:
            last = spans[-1]
            spans[-1] = Span(last.agent_id, last.took_at, last.took_how, change.at, change.why)
        if change.to_agent_id is not None:
            spans.append(Span(change.to_agent_id, change.at, change.why, None, None))
    return spans

"""S-first-responder: what a chat's field change means for its chain of owners (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service.chats import machine
from service.chats.machine import Conversation
from service.owners.rules import Change, Span, chain, change_of, is_drop

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


def fields(effects: list[machine.Effect]) -> dict[str, object]:
    [effect] = effects
    assert isinstance(effect, machine.Set)
    return effect.fields


def test_taken_from_the_queue_is_routed() -> None:
    assert change_of(None, "queued", fields(machine.assign_to(7, T0)), None) == Change(
        T0, None, 7, "routed"
    )


def test_passed_to_a_colleague_says_how() -> None:
    assert change_of(7, "assigned", fields(machine.assign_to(8, T0)), "transfer") == Change(
        T0, 7, 8, "transfer"
    )


def test_back_to_the_queue_carries_its_reason() -> None:
    requeued = fields(machine.requeued(Conversation(1, "assigned", agent_id=7), T0))
    assert change_of(7, "assigned", requeued, "offline") == Change(T0, 7, None, "offline")


def test_a_chat_never_leaves_its_agent_without_a_reason() -> None:
    requeued = fields(machine.requeued(Conversation(1, "assigned", agent_id=7), T0))
    with pytest.raises(ValueError, match="say why"):
        change_of(7, "assigned", requeued, None)
    with pytest.raises(ValueError, match="say why"):
        change_of(7, "assigned", fields(machine.assign_to(8, T0)), None)


def test_closing_ends_the_owner_and_only_once() -> None:
    closed = machine.closed(Conversation(1, "assigned", agent_id=7), "agent", T0)
    assert isinstance(closed[0], machine.Set)
    assert change_of(7, "assigned", closed[0].fields, None) == Change(T0, 7, None, "closed")
    assert change_of(None, "queued", closed[0].fields, None) is None  # nobody owned it
    assert change_of(7, "closed", closed[0].fields, None) is None


def test_other_fields_change_no_owner() -> None:
    assert change_of(7, "assigned", {"priority": 1}, None) is None
    new = fields(machine.requeued(Conversation(1, "queued"), T0))
    assert change_of(None, "queued", new, None) is None  # a new chat joins the line


def test_drops_are_what_is_not_handed_on() -> None:
    assert [is_drop(w) for w in ("routed", "transfer", "shift_end", "closed")] == [False] * 4
    assert [is_drop(w) for w in ("accept_timeout", "offline", "gone", "disabled")] == [True] * 4


def test_the_chain_is_spans_of_owners() -> None:
    t = [T0 + timedelta(minutes=m) for m in range(5)]
    changes = [
        Change(t[0], None, 7, "routed"),
        Change(t[1], 7, 8, "transfer"),
        Change(t[2], 8, None, "accept_timeout"),
        Change(t[3], None, 7, "routed"),
    ]
    assert chain(changes) == [
        Span(7, t[0], "routed", t[1], "transfer"),
        Span(8, t[1], "transfer", t[2], "accept_timeout"),
        Span(7, t[3], "routed", None, None),
    ]

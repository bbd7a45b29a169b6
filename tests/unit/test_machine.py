"""The conversation machine (service/chats/machine.py): one test per rule, no server, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from service.chats import machine
from service.chats.machine import (
    Arm,
    Cancel,
    Close,
    Conversation,
    Effect,
    Limits,
    RecordEvent,
    RecordReply,
    Requeue,
    Say,
    Send,
    Set,
    SetAgentAway,
)
from service.realtime import events

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
LIMITS = Limits()


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def chat(**fields: object) -> Conversation:
    values: dict[str, object] = {"chat_id": 7, "status": "assigned", "agent_id": 3}
    values.update(fields)
    return Conversation(**values)  # type: ignore[arg-type]


def after(c: Conversation, effects: list[Effect]) -> Conversation:
    """The state once the effects' field changes are applied (what timing.apply does)."""
    for effect in effects:
        if isinstance(effect, Set):
            c = replace(c, **{k: v for k, v in effect.fields.items() if k in Conversation.FIELDS})
    return c


def arms(effects: list[Effect]) -> dict[str, tuple[str, datetime]]:
    return {e.key: (e.kind, e.due) for e in effects if isinstance(e, Arm)}


def cancels(effects: list[Effect]) -> set[str]:
    return {key for e in effects if isinstance(e, Cancel) for key in e.keys}


def said(effects: list[Effect]) -> list[str]:
    return [e.key for e in effects if isinstance(e, Say)]


def test_s_long_wait_a_message_starts_the_wait_and_its_apology_clock() -> None:
    effects = machine.customer_wrote(chat(agent_answered=True), at(0), at(0), LIMITS)
    assert arms(effects) == {"conversation:7": ("long_wait", at(60))}
    c = after(chat(agent_answered=True), effects)
    assert (c.waiting_since, c.first_customer_at) == (at(0), at(0))
    # A second message in the same wait starts nothing new.
    assert arms(machine.customer_wrote(c, at(10), at(10), LIMITS)) == {}


def test_s_long_wait_the_apology_goes_out_once_per_wait() -> None:
    c = chat(waiting_since=at(0), agent_answered=True)
    effects = machine.long_wait_due(c, at(60))
    assert said(effects) == ["long_wait"]
    assert RecordEvent("long_wait", 60_000) in effects
    [timing] = [e for e in effects if isinstance(e, Send)]
    assert timing.to == "agent" and timing.frame == events.Timing(7, "2026-12-02T09:00:00Z", 60.0)
    assert machine.long_wait_due(after(c, effects), at(61)) == []


def test_s_no_silence_a_reply_records_the_wait_and_the_first_response() -> None:
    c = chat(waiting_since=at(5), first_customer_at=at(0), agent_answered=True)
    effects = machine.agent_wrote(c, at(20), at(20), LIMITS)
    assert RecordReply(wait_ms=15_000, first_response_ms=20_000) in effects
    c = after(c, effects)
    assert (c.waiting_since, c.first_response_ms) == (None, 20_000)
    # The customer's turn: the idle timer replaces the wait's.
    assert arms(effects) == {"conversation:7": ("idle_prompt", at(320))}
    # Only the first reply is the first response.
    c = after(c, machine.customer_wrote(c, at(30), at(30), LIMITS))
    assert RecordReply(10_000, None) in machine.agent_wrote(c, at(40), at(40), LIMITS)


def test_s_hold_replaces_the_wait_and_runs_out_with_an_apology_and_a_reminder() -> None:
    c = chat(waiting_since=at(0), agent_answered=True)
    effects = machine.hold(c, at(10), LIMITS)
    assert said(effects) == ["hold"]
    assert arms(effects) == {"conversation:7": ("hold", at(70))}
    c = after(c, effects)
    due = machine.hold_due(c, at(70))
    assert said(due) == ["long_wait"]
    assert [e.frame.frame()["reason"] for e in due if isinstance(e, Send)] == ["hold_expired"]
    c = after(c, due)
    assert c.hold_expired and c.wait_apologized
    # The wait's own timer, if it fires later, has nothing left to say.
    assert machine.long_wait_due(c, at(80)) == []


def test_s_hold_back_the_next_message_is_preceded_by_the_acknowledgement() -> None:
    expired = chat(held_since=at(0), hold_expired=True, agent_answered=True)
    assert said(machine.agent_writes(expired, None)) == ["hold_back"]
    running = replace(expired, hold_expired=False)
    assert said(machine.agent_writes(running, None)) == []
    assert said(machine.agent_writes(running, True)) == ["hold_back"]
    assert after(running, machine.agent_writes(running, None)).held_since is None
    assert machine.agent_writes(chat(), None) == []


def test_s_answer_fast_the_silent_agent_clock_starts_at_the_first_unanswered_message() -> None:
    silent_customer = chat(status="queued", agent_id=3)
    assert arms(machine.assigned(silent_customer, at(0), LIMITS)) == {}
    c = after(silent_customer, machine.assigned(silent_customer, at(0), LIMITS))
    c = replace(c, status="assigned", assigned_at=at(0))
    effects = machine.customer_wrote(c, at(300), at(300), LIMITS)
    assert arms(effects)["accept:7"] == ("accept", at(390))

    waiting = chat(status="queued", waiting_since=at(0), queued_since=at(0))
    effects = machine.assigned(waiting, at(30), LIMITS)
    assert arms(effects) == {"accept:7": ("accept", at(120))}
    assert after(waiting, effects).queue_ms == 30_000


def test_s_answer_fast_a_silent_agent_loses_the_chat_and_is_set_away() -> None:
    c = chat(assigned_at=at(0), waiting_since=at(10))
    effects = machine.accept_due(c, 3, True, at(100), LIMITS)
    assert RecordEvent("accept_timeout", 90_000) in effects
    assert SetAgentAway(3) in effects
    assert said(effects) == ["reassigned"]
    assert isinstance(effects[-1], Requeue)
    # Lost races do nothing: the agent answered, another agent has it, or the chat is closing.
    assert machine.accept_due(replace(c, agent_answered=True), 3, True, at(100), LIMITS) == []
    assert machine.accept_due(c, 4, True, at(100), LIMITS) == []
    assert machine.accept_due(replace(c, closes_at=at(120)), 3, True, at(100), LIMITS) == []
    assert SetAgentAway(3) not in machine.accept_due(c, 3, False, at(100), LIMITS)


def test_s_no_response_the_idle_customer_is_prompted_then_the_chat_closes() -> None:
    c = chat(agent_answered=True)
    effects = machine.idle_prompt_due(c, at(300), LIMITS)
    assert said(effects) == ["no_response"]
    assert arms(effects) == {"conversation:7": ("idle_close", at(420))}
    assert machine.idle_close_due(c) == [Close("idle", "closing")]
    # Not idle when the customer waits for the agent, or the agent holds or closes.
    assert machine.idle_prompt_due(replace(c, waiting_since=at(1)), at(300), LIMITS) == []
    assert machine.idle_close_due(replace(c, held_since=at(1))) == []


def test_s_anything_else_closing_asks_once_more_and_leaves_a_grace() -> None:
    c = chat(waiting_since=at(0), agent_answered=True)
    effects = machine.agent_closing(c, at(10), LIMITS)
    assert said(effects) == ["anything_else"]
    assert arms(effects) == {"conversation:7": ("close_grace", at(40))}
    assert [e.frame.type for e in effects if isinstance(e, Send)] == ["closing"]
    c = after(c, effects)
    assert c.waiting_since is None and c.closes_at == at(40)
    with pytest.raises(machine.Refused):
        machine.agent_closing(c, at(11), LIMITS)
    assert machine.grace_due(c) == [Close("agent", "closing")]


def test_s_customer_ends_an_answer_in_the_grace_reopens_the_chat() -> None:
    c = chat(agent_answered=True, asked_anything_else=True, closes_at=at(40))
    effects = machine.customer_wrote(c, at(20), at(20), LIMITS)
    assert Send("audience", events.Reopened(7)) in effects
    c = after(c, effects)
    assert c.closes_at is None
    assert machine.grace_due(c) == []
    # Asked once: closing again with no word from the agent in between closes at once.
    assert machine.agent_closing(c, at(30), LIMITS) == [Close("agent", "closing")]


def test_a_chat_back_in_the_queue_keeps_the_wait_clock_only() -> None:
    waiting = chat(waiting_since=at(0))
    assert cancels(machine.unassigned(waiting, at(30), LIMITS)) == {"accept:7"}
    idle = chat(agent_answered=True)
    assert cancels(machine.unassigned(idle, at(30), LIMITS)) == {"accept:7", "conversation:7"}
    # A hold that stood for the wait: the wait's timer runs again from the hold's word.
    held = chat(waiting_since=at(0), held_since=at(10), agent_answered=True)
    assert arms(machine.unassigned(held, at(20), LIMITS)) == {
        "conversation:7": ("long_wait", at(70))
    }


def test_a_closed_chat_stops_every_clock_and_ignores_late_timers() -> None:
    effects = machine.ended(chat(waiting_since=at(0), held_since=at(1)))
    assert cancels(effects) == {"conversation:7", "accept:7"}
    closed = chat(status="closed", waiting_since=at(0))
    assert machine.long_wait_due(closed, at(100)) == []
    assert machine.hold_due(replace(closed, held_since=at(0)), at(100)) == []


# -- where the chat is in its life ------------------------------------------------------------


def fields_of(effects: list[Effect]) -> dict[str, object]:
    changed: dict[str, object] = {}
    for effect in effects:
        if isinstance(effect, Set):
            changed.update(effect.fields)
    return changed


def test_fifo_a_chat_back_in_the_queue_keeps_its_place_in_line() -> None:
    # S-no-unattended: back in line, the chat keeps the place it first joined at (FIFO) and its
    # queue time counts again from now; a chat never in line joins it now.
    back = machine.requeued(chat(queued_at=at(0)), at(90))
    assert fields_of(back) == {
        "status": "queued",
        "agent_id": None,
        "queue_position": None,
        "queued_since": at(90),
    }
    new = machine.requeued(chat(status="queued", agent_id=None), at(5))
    assert fields_of(new)["queued_at"] == at(5)


def test_route_on_message_the_first_message_joins_the_line() -> None:
    assert fields_of(machine.joined_line(at(3))) == {
        "queued_at": at(3),
        "queued_since": at(3),
        "queue_position": None,
    }


def test_an_assignment_names_the_agent_and_forgets_the_handoff() -> None:
    assert fields_of(machine.assign_to(4, at(2))) == {
        "status": "assigned",
        "agent_id": 4,
        "assigned_at": at(2),
        "queue_position": None,
        "handoff_from_id": None,
    }


def test_s_no_blind_transfer_to_a_group_nobody_can_take_now() -> None:
    # Nobody free: the front of the group's line, never routed back to the agent who let go.
    assert fields_of(machine.moved_to_group(2, 3, taken=False)) == {
        "group_id": 2,
        "priority": 1,
        "handoff_from_id": 3,
    }
    assert fields_of(machine.moved_to_group(2, 3, taken=True)) == {"group_id": 2}
    assert fields_of(machine.returned_to_queue()) == {"priority": 1}


def test_a_close_stops_every_clock_and_says_who_closed() -> None:
    c = chat(waiting_since=at(0), held_since=at(5), closes_at=at(30))
    effects = machine.closed(c, "customer", at(40))
    assert fields_of(effects) == {
        "status": "closed",
        "closed_at": at(40),
        "closed_by": "customer",
        "queue_position": None,
        "waiting_since": None,
        "held_since": None,
        "hold_expired": False,
        "closes_at": None,
    }
    assert cancels(effects) == {"conversation:7", "accept:7"}


def test_s_abuse_warned_once_then_the_chat_ends_and_the_customer_is_flagged() -> None:
    first = machine.customer_abusive(chat(), at(0))
    assert said(first) == ["abuse_warning"]
    assert fields_of(first) == {"abuse_warned_at": at(0)}
    warned = after(chat(), first)
    assert machine.customer_abusive(warned, at(9)) == [
        machine.Flag("abuse"),
        Close("abuse", None),
    ]
    # The agent's own warning is noted once; cutting off needs it first.
    assert machine.abuse_warned(warned, at(20)) == []
    with pytest.raises(machine.Refused):
        machine.cut_off(chat())
    assert machine.cut_off(warned)[-1] == Close("abuse", None)

"""Shifts and the handover rules (service/shifts.py), without a server (S-no-unattended)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from service.hours import parse_hours
from service.shifts import (
    Item,
    Taker,
    going_off,
    hours_begin,
    next_at,
    next_end,
    on_duty,
    parse_shifts,
    share,
    taking_over,
)

TZ = ZoneInfo("Asia/Shanghai")
SPEC = "day 08:00-20:00 1001 1002; night 20:00-08:00 1003 1004; mid 12:00-24:00 1002 1005"


def local(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=TZ)


def test_shifts_parse_with_their_agents() -> None:
    day, night, mid = parse_shifts(SPEC)
    assert (day.name, day.hours, day.employees) == ("day", "08:00-20:00", ("1001", "1002"))
    assert (night.hours, night.employees) == ("20:00-08:00", ("1003", "1004"))
    assert mid.hours == "12:00-24:00"
    assert parse_shifts("") == parse_shifts(" ; ") == ()


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("day", "expected 'name HH:MM-HH:MM"),
        ("day 8-20 1001", "expected HH:MM-HH:MM"),
        ("day 08:00-12:00,13:00-18:00 1001", "one window"),
        ("day 08:00-20:00 1; day 20:00-08:00 2", "defined twice"),
        ("da!y 08:00-20:00", "letters, digits"),
        ("day 09:00-09:00 1", "empty"),
    ],
)
def test_bad_shifts_are_refused_with_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        parse_shifts(spec)


def test_which_shift_is_on_at_its_edges() -> None:
    shifts = parse_shifts(SPEC)
    names = lambda moment: [s.name for s in on_duty(shifts, TZ, moment)]  # noqa: E731
    assert names(local(8)) == ["day"]  # a window's start is in it
    assert names(local(7, 59)) == ["night"]
    assert names(local(13)) == ["day", "mid"]
    assert names(local(20)) == ["night", "mid"]  # its end is not
    assert names(local(0, 0, day=6)) == ["night"]


def test_the_next_end_and_the_shifts_ending_then() -> None:
    shifts = parse_shifts(SPEC)
    assert next_end(shifts, TZ, local(17)) == (local(20), ["day"])
    assert next_end(shifts, TZ, local(20)) == (local(0, day=6), ["mid"])
    assert next_end(shifts, TZ, local(3, day=6)) == (local(8, day=6), ["night"])
    # From UTC: 09:00 UTC is 17:00 in Shanghai.
    assert next_end(shifts, TZ, datetime(2026, 1, 5, 9, 0, tzinfo=UTC))[0] == local(20)


def test_next_at_is_strictly_after_now() -> None:
    assert next_at(8 * 60, TZ, local(8)) == local(8, day=6)
    assert next_at(24 * 60, TZ, local(23, 59)) == local(0, day=6)


def test_going_off_leaves_out_those_on_the_next_shift_too() -> None:
    shifts = parse_shifts(SPEC)
    # At 20:00 day ends; 1002 is also on mid (till 24:00), so only 1001 goes off.
    assert going_off(shifts, ["day"], TZ, local(20)) == {"1001"}
    assert taking_over(shifts, TZ, local(20)) == ["1003", "1004", "1002", "1005"]
    assert going_off(shifts, ["mid"], TZ, local(0, day=6)) == {"1002", "1005"}


def test_service_hours_begin_only_after_a_gap() -> None:
    assert hours_begin(parse_hours("09:00-21:00"), TZ, local(22)) == local(9, day=6)
    assert hours_begin(parse_hours("09:00-21:00"), TZ, local(8)) == local(9)
    assert hours_begin(parse_hours("00:00-24:00"), TZ, local(8)) is None  # 24-hour duty
    assert hours_begin(parse_hours("21:00-09:00"), TZ, local(10)) == local(21)
    assert hours_begin(parse_hours("08:00-12:00,12:00-18:00"), TZ, local(13)) == local(8, day=6)
    assert hours_begin((), TZ, local(8)) is None


def chat(ref: int, owner: int = 1) -> Item:
    return Item("chat", ref, owner)


def test_chats_go_to_serving_takers_with_free_seats_least_busy_first() -> None:
    takers = [Taker(10, True, 1, 2), Taker(11, True, 0, 2), Taker(12, False, 0, 5)]
    plan = share([chat(1), chat(2), chat(3), chat(4)], takers)
    assert [(item.ref_id, to) for item, to in plan] == [(1, 11), (2, 10), (3, 11), (4, None)]


def test_complaints_and_promises_go_to_anyone_on_the_next_shift_serving_first() -> None:
    takers = [Taker(10, False, 0, 5), Taker(11, True, 3, 5, load=1)]
    items = [Item("complaint", 7, 1), Item("promise", 8, 1), chat(9)]
    plan = share(items, takers)
    # The chat first (customers are waiting); the rest to whoever serves, however loaded.
    assert [(item.what, to) for item, to in plan] == [
        ("chat", 11),
        ("complaint", 11),
        ("promise", 11),
    ]
    # Among takers alike in serving, the least loaded (open chats plus what they own).
    alike = [Taker(10, False, 0, 5, load=2), Taker(11, False, 0, 5, load=0)]
    assert [to for _, to in share(items[:2], alike)] == [11, 11]  # 11: load 0, then 1 < 2
    # 11 takes two and ties with 10 at 2: the lower id takes the third, then 11 again.
    assert [to for _, to in share(items[:2] * 2, alike)] == [11, 11, 10, 11]


def test_nobody_next_means_nobody_takes_and_never_back_to_the_sender() -> None:
    assert share([chat(1), Item("promise", 2, 1)], []) == [
        (chat(1), None),
        (Item("promise", 2, 1), None),
    ]
    assert share([chat(1, owner=10)], [Taker(10, True, 0, 5)]) == [(chat(1, owner=10), None)]

"""Shifts (``KEFU_SHIFTS``) and the handover at a shift's end, as pure rules (S-no-unattended,
S-follow-up).

A shift is a name, one daily window in ``KEFU_TIMEZONE`` and the employee numbers (工号) of
its agents: ``day 08:00-20:00 1001 1002; night 20:00-08:00 1003 1004``. Shifts are separated
by ``;``; a window may cross midnight. Empty (the default): no shifts, nothing is handed over.

At a shift's end its agents who are not on the shift that follows *go off*; their open chats,
unfinished complaints and open promises pass to the agents on duty from that moment
(``share``). No database and no clock here: the service asks these functions and applies the
answer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from service.hours import DAY, Window, parse_hours

_NAME = re.compile(r"^[A-Za-z0-9_\-\u4e00-\u9fff]{1,32}$")
_EMPLOYEE = re.compile(r"^[^\s;]{1,32}$")


@dataclass(frozen=True)
class Shift:
    name: str
    window: Window
    employees: tuple[str, ...]

    @property
    def hours(self) -> str:
        return f"{_hhmm(self.window.start)}-{_hhmm(self.window.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def parse_shifts(spec: str) -> tuple[Shift, ...]:
    """The shifts of a ``KEFU_SHIFTS`` value; ValueError names what is wrong."""
    shifts: list[Shift] = []
    for part in (piece.strip() for piece in spec.split(";")):
        if not part:
            continue
        words = part.split()
        if len(words) < 2:
            raise ValueError(f"shift {part!r}: expected 'name HH:MM-HH:MM employee_no …'")
        name, hours, employees = words[0], words[1], words[2:]
        if not _NAME.match(name):
            raise ValueError(f"shift name {name!r}: letters, digits, _ or -, at most 32")
        windows = parse_hours(hours)
        if len(windows) != 1:
            raise ValueError(f"shift {name!r}: one window HH:MM-HH:MM")
        if any(not _EMPLOYEE.match(number) for number in employees):
            raise ValueError(f"shift {name!r}: employee numbers are separated by spaces")
        if name in {shift.name for shift in shifts}:
            raise ValueError(f"shift {name!r} is defined twice")
        shifts.append(Shift(name, windows[0], tuple(dict.fromkeys(employees))))
    return tuple(shifts)


def _minute(tz: ZoneInfo, now: datetime) -> int:
    local = now.astimezone(tz)
    return local.hour * 60 + local.minute


def on_duty(shifts: Sequence[Shift], tz: ZoneInfo, now: datetime) -> list[Shift]:
    """The shifts whose window holds ``now`` (a window's start is in it, its end is not)."""
    minute = _minute(tz, now)
    return [shift for shift in shifts if shift.window.contains(minute)]


def next_at(minute_of_day: int, tz: ZoneInfo, now: datetime) -> datetime:
    """The first moment after ``now`` at which the local clock shows ``minute_of_day`` (UTC)."""
    local = now.astimezone(tz)
    day = local.date()
    for offset in range(3):
        date = day + timedelta(days=offset + minute_of_day // DAY)
        minutes = minute_of_day % DAY
        moment = datetime.combine(date, time(minutes // 60, minutes % 60), tz)
        if moment > now:
            return moment.astimezone(UTC)
    raise AssertionError("unreachable: a time of day recurs within two days")


def next_end(shifts: Sequence[Shift], tz: ZoneInfo, now: datetime) -> tuple[datetime, list[str]]:
    """The next moment a shift ends after ``now``, and the shifts that end then."""
    ends = {shift.name: next_at(shift.window.end, tz, now) for shift in shifts}
    soonest = min(ends.values())
    return soonest, [name for name, moment in ends.items() if moment == soonest]


def going_off(
    shifts: Sequence[Shift], ending: Sequence[str], tz: ZoneInfo, at: datetime
) -> set[str]:
    """Employee numbers of the ending shifts who are not on any shift on duty from ``at``."""
    staying = {number for shift in on_duty(shifts, tz, at) for number in shift.employees}
    leaving = {number for shift in shifts if shift.name in ending for number in shift.employees}
    return leaving - staying


def taking_over(shifts: Sequence[Shift], tz: ZoneInfo, at: datetime) -> list[str]:
    """Employee numbers on duty from ``at``, in the order the shifts list them."""
    numbers = [number for shift in on_duty(shifts, tz, at) for number in shift.employees]
    return list(dict.fromkeys(numbers))


def hours_begin(windows: Sequence[Window], tz: ZoneInfo, now: datetime) -> datetime | None:
    """The next moment service hours begin after a time outside them; None if they never do
    (no hours, or 24-hour duty with no gap)."""
    starts = [
        window.start
        for window in windows
        if not any(other.contains((window.start - 1) % DAY) for other in windows)
    ]
    if not starts:
        return None
    return min(next_at(start, tz, now) for start in starts)


# -- who takes what --------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One thing an agent going off holds: a chat, a complaint or a promise."""

    what: str  # "chat" | "complaint" | "promise"
    ref_id: int
    from_id: int


@dataclass
class Taker:
    """An agent of the next shift, as the handover counts them (plain values)."""

    agent_id: int
    serving: bool  # online, connected and active: may take a chat now
    open_chats: int
    capacity: int
    load: int = 0  # complaints and promises they own

    def rank(self) -> tuple[int, int, int]:
        # Those who can answer now first, then the least loaded, then the oldest account.
        return (0 if self.serving else 1, self.open_chats + self.load, self.agent_id)


def share(items: Sequence[Item], takers: Sequence[Taker]) -> list[tuple[Item, int | None]]:
    """Who takes each item: (item, agent id), or None when nobody can. Pure.

    A chat goes only to a serving taker with a free seat, the least busy first; one nobody can
    take goes back to the queue (None). A complaint or a promise goes to the least loaded
    taker, serving ones first (an owner who is away still owns it); None only when the next
    shift has nobody at all. Chats are shared out first, so that seats go to customers who wait.
    """
    pool = {taker.agent_id: replace(taker) for taker in takers}
    order = sorted(items, key=lambda item: (item.what != "chat", item.from_id, item.ref_id))
    plan: list[tuple[Item, int | None]] = []
    for item in order:
        candidates = [
            taker
            for taker in pool.values()
            if taker.agent_id != item.from_id
            and (item.what != "chat" or (taker.serving and taker.open_chats < taker.capacity))
        ]
        if not candidates:
            plan.append((item, None))
            continue
        best = min(candidates, key=Taker.rank)
        if item.what == "chat":
            best.open_chats += 1
        else:
            best.load += 1
        plan.append((item, best.agent_id))
    return plan

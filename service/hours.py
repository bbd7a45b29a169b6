"""Service hours (``KEFU_SERVICE_HOURS``): when an empty desk is an alarm (S-no-unattended).

The format is one or more daily windows ``HH:MM-HH:MM`` separated by commas, in local time of
``KEFU_TIMEZONE``: ``09:00-21:00``, ``08:00-12:00,13:30-22:00``. A window may cross midnight
(``21:00-09:00``); ``00:00-24:00`` is the whole day (24-hour duty, the default). An empty value
means no service hours: the desk is never reported unattended.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_WINDOW = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
DAY = 24 * 60


@dataclass(frozen=True)
class Window:
    start: int  # minutes after local midnight
    end: int  # 1..1440; end <= start crosses midnight

    def contains(self, minute: int) -> bool:
        if self.start < self.end:
            return self.start <= minute < self.end
        return minute >= self.start or minute < self.end


def _minutes(hours: str, minutes: str, *, end: bool) -> int:
    value = int(hours) * 60 + int(minutes)
    if int(minutes) > 59 or value > DAY or (value == DAY and not end):
        raise ValueError(f"{hours}:{minutes} is not a time of day")
    return value


def parse_hours(spec: str) -> tuple[Window, ...]:
    """The windows of a ``KEFU_SERVICE_HOURS`` value; ValueError names what is wrong."""
    windows = []
    for part in (piece.strip() for piece in spec.split(",")):
        if not part and not spec.strip():
            return ()
        found = _WINDOW.match(part)
        if found is None:
            raise ValueError(f"service hours {part!r}: expected HH:MM-HH:MM, e.g. 09:00-21:00")
        start = _minutes(found[1], found[2], end=False)
        end = _minutes(found[3], found[4], end=True)
        if start == end:
            raise ValueError(f"service hours {part!r}: the window is empty")
        windows.append(Window(start, end))
    return tuple(windows)


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name like Asia/Shanghai)") from None


def in_service(windows: tuple[Window, ...], tz: ZoneInfo, now: datetime) -> bool:
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    return any(window.contains(minute) for window in windows)


def local_time(tz: ZoneInfo, moment: datetime) -> str:
    """How a promised time is written to a customer: ``2026-01-06 17:00`` in desk time."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

"""KEFU_SERVICE_HOURS: the format, windows across midnight, and refusing bad values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from service.hours import Window, in_service, local_time, parse_hours, zone
from service.settings import Settings

SHANGHAI = zone("Asia/Shanghai")


def at(hour: int, minute: int = 0) -> datetime:
    """A UTC moment that is hour:minute in Shanghai (UTC+8) on 5 January 2026."""
    return datetime(2026, 1, 5, hour, minute, tzinfo=SHANGHAI).astimezone(UTC)


def test_a_day_window() -> None:
    windows = parse_hours("09:00-21:00")
    assert windows == (Window(540, 1260),)
    assert not in_service(windows, SHANGHAI, at(8, 59))
    assert in_service(windows, SHANGHAI, at(9))
    assert in_service(windows, SHANGHAI, at(20, 59))
    assert not in_service(windows, SHANGHAI, at(21))


def test_several_windows_and_midnight() -> None:
    windows = parse_hours("08:00-12:00, 13:30-16:00,22:00-02:00")
    assert in_service(windows, SHANGHAI, at(11, 59))
    assert not in_service(windows, SHANGHAI, at(13))
    assert in_service(windows, SHANGHAI, at(23))
    assert in_service(windows, SHANGHAI, at(1, 30))
    assert not in_service(windows, SHANGHAI, at(2))


def test_whole_day_and_none() -> None:
    assert all(in_service(parse_hours("00:00-24:00"), SHANGHAI, at(h)) for h in range(24))
    assert parse_hours("") == ()
    assert not in_service(parse_hours(" "), SHANGHAI, at(12))


@pytest.mark.parametrize(
    "spec", ["9-21", "09:00", "09:00-25:00", "24:00-09:00", "09:60-10:00", "09:00-09:00", "a,b"]
)
def test_bad_hours_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"service hours|not a time"):
        parse_hours(spec)


def test_bad_settings_refuse_to_start() -> None:
    with pytest.raises(ValueError, match="HH:MM-HH:MM"):
        Settings(_env_file=None, service_hours="9-21")  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="unknown time zone"):
        Settings(_env_file=None, timezone="Mars/Olympus")  # type: ignore[call-arg]
    with pytest.raises(ValueError):
        Settings(_env_file=None, callback_within_h=48)  # type: ignore[call-arg]


def test_promised_time_is_written_in_desk_time() -> None:
    assert local_time(SHANGHAI, datetime(2026, 1, 6, 9, 0, tzinfo=UTC)) == "2026-01-06 17:00"

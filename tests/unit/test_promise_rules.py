"""The promise rules (service/promises/rules.py), without a server: S-callback-24h."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from service.errors import PromiseRefused
from service.promises.rules import LIMIT, check_due, is_overdue, remind_at

NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # 17:00 in Asia/Shanghai
SHANGHAI = timezone(timedelta(hours=8))


def refused(due: datetime, limit: timedelta = LIMIT) -> str:
    with pytest.raises(PromiseRefused) as caught:
        check_due(NOW, due, limit)
    assert caught.value.code == "promise_refused"
    reason = caught.value.extra["reason"]
    assert isinstance(reason, str)
    return reason


def test_a_time_later_today_is_accepted_to_the_minute() -> None:
    assert check_due(NOW, datetime(2026, 1, 5, 18, 0, 42, 7, SHANGHAI)) == datetime(
        2026, 1, 5, 10, 0, tzinfo=UTC
    )


def test_exactly_24_hours_ahead_is_the_last_accepted_time() -> None:
    assert check_due(NOW, NOW + LIMIT) == NOW + LIMIT
    assert refused(NOW + LIMIT + timedelta(minutes=1)) == "too_far"


def test_three_days_ahead_is_refused() -> None:
    assert refused(NOW + timedelta(days=3)) == "too_far"  # the "3天后"


def test_a_time_in_the_past_or_now_is_refused() -> None:
    assert refused(NOW - timedelta(minutes=5)) == "past"
    assert refused(NOW) == "past"
    # Seconds are dropped before the check: 30 s from now is this minute, already begun.
    assert refused(NOW + timedelta(seconds=30)) == "past"


def test_a_time_without_a_zone_is_refused() -> None:
    assert refused(datetime(2026, 1, 5, 18, 0)) == "no_zone"


def test_a_shorter_limit_is_honoured() -> None:
    assert refused(NOW + timedelta(hours=5), timedelta(hours=4)) == "too_far"


def test_the_reminder_comes_a_lead_before_but_never_in_the_past() -> None:
    due = NOW + timedelta(hours=2)
    assert remind_at(NOW, due, timedelta(minutes=15)) == due - timedelta(minutes=15)
    soon = NOW + timedelta(minutes=5)
    assert remind_at(NOW, soon, timedelta(minutes=15)) == NOW


def test_overdue_is_open_at_or_after_the_due_time() -> None:
    assert is_overdue("open", NOW, NOW)
    assert not is_overdue("open", NOW + timedelta(seconds=1), NOW)
    assert not is_overdue("done", NOW - timedelta(hours=1), NOW)

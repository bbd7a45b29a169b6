"""``purge --older-than``: the ages it takes, and the ones it refuses (docs/privacy.md)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.privacy.retention import BadAge, parse_age


def test_ages_in_days_and_hours() -> None:
    assert parse_age("180d") == timedelta(days=180)
    assert parse_age(" 36h ") == timedelta(hours=36)


@pytest.mark.parametrize("text", ["", "0d", "180", "-5d", "1.5d", "180 days", "1w", "9999999d"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(BadAge):
        parse_age(text)

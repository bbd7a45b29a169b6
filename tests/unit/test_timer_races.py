"""A timer whose savepoint lost a race (deadlock, serialization) is not counted toward dropping."""

from __future__ import annotations

from dataclasses import dataclass

from service.timers.scheduler import _lost_a_race


@dataclass
class _Orig:
    sqlstate: str | None


class _DBError(Exception):
    def __init__(self, sqlstate: str | None) -> None:
        super().__init__("statement failed")
        self.orig = _Orig(sqlstate)


def test_deadlock_and_serialization_failures_are_races() -> None:
    assert _lost_a_race(_DBError("40P01"))
    assert _lost_a_race(_DBError("40001"))


def test_other_failures_are_not() -> None:
    assert not _lost_a_race(_DBError("23505"))  # a unique violation is a bug of ours
    assert not _lost_a_race(_DBError(None))
    assert not _lost_a_race(ValueError("handler fault"))

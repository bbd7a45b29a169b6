"""Background loops say a database outage once as it begins and once as it ends."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import exc

from service.db.outage import Outage

log = logging.getLogger("kefu.test.outage")


def refused() -> exc.OperationalError:
    return exc.OperationalError(None, None, ConnectionRefusedError("connection refused"))


def said(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str, bool]]:
    return [(r.levelname, r.getMessage(), r.exc_info is not None) for r in caplog.records]


def test_an_outage_is_said_once_as_it_begins_and_once_as_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    outage = Outage("scheduler", log)
    outage.passed()
    for _ in range(50):  # fifty ticks while the database is away
        outage.failed(refused())
    outage.failed(ConnectionResetError())
    outage.passed()
    outage.passed()
    outage.failed(refused())  # a second outage is said again
    assert said(caplog) == [
        ("WARNING", "scheduler.database_unavailable error=OperationalError", False),
        ("WARNING", "scheduler.database_back", False),
        ("WARNING", "scheduler.database_unavailable error=OperationalError", False),
    ]


def test_a_fault_that_is_not_an_outage_keeps_its_traceback_every_time(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=log.name)
    outage = Outage("webhook", log)
    for _ in range(2):
        try:
            raise KeyError("a bug of ours")
        except KeyError as error:
            outage.failed(error)
    assert said(caplog) == [("ERROR", "webhook.failed error=KeyError", True)] * 2
    assert not outage.down

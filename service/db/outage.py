"""A background loop's view of the database: an outage is said once as it begins (with the
error's class) and once as it ends, never a traceback per tick; any other failure is a fault
and keeps its traceback."""

from __future__ import annotations

import logging

from service.db.engine import is_database_down


class Outage:
    def __init__(self, loop: str, log: logging.Logger) -> None:
        self.loop = loop
        self.log = log
        self.down = False

    def failed(self, error: BaseException) -> None:
        """One pass of the loop failed with ``error``."""
        if not is_database_down(error):
            self.log.error("%s.failed error=%s", self.loop, type(error).__name__, exc_info=error)
            return
        if not self.down:
            self.down = True
            self.log.warning("%s.database_unavailable error=%s", self.loop, type(error).__name__)

    def passed(self) -> None:
        """One pass of the loop reached the database."""
        if self.down:
            self.down = False
            self.log.warning("%s.database_back", self.loop)

"""The privacy use cases: a purge written to the audit log, and the daily purge as a timer."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from service import audit
from service.attachments.storage import Storage
from service.db.models import Timer
from service.db.unit_of_work import Work
from service.privacy.retention import Purged, purge
from service.timers.scheduler import Scheduler, arm
from service.tokens.service import Caller, Role

log = logging.getLogger(__name__)

RETENTION = "retention"
DAY = timedelta(days=1)
# Who the audit log names for the daily run (KEFU_RETENTION_DAYS).
SCHEDULE = Caller(Role.admin, "retention")


async def purge_audited(
    session: AsyncSession, caller: Caller, now: datetime, older_than: timedelta
) -> Purged:
    """Purge, and one audit row saying what went (it commits with the purge); a purge that
    found nothing leaves no row, so the daily run does not fill the log with empty days."""
    done = await purge(session, now, older_than)
    if not done.touched:
        return done
    target = ("retention", done.cutoff.isoformat())
    await audit.record(session, caller, now, "privacy.purge", target, None, done.summary())
    return done


async def remove_files(storage: Storage, keys: list[str]) -> None:
    """The purged attachments' bytes, once their rows are gone (a crash leaves only files)."""
    for key in keys:
        await storage.delete(key)


class Retention:
    """The daily purge: a durable timer, so one process of many runs it, once a day."""

    def __init__(self, days: int | None, scheduler: Scheduler, storage: Storage) -> None:
        self.days = days
        self.storage = storage
        scheduler.register(RETENTION, self._daily)

    async def arm(self, work: Work) -> None:
        if self.days is None:
            return
        if await work.session.scalar(select(Timer.id).where(Timer.key == RETENTION)) is None:
            await arm(work, RETENTION, RETENTION, work.now + DAY)

    async def _daily(self, work: Work, timer: Timer) -> None:
        if self.days is None:  # the setting was turned off since: the timer ends here
            return
        await arm(work, RETENTION, RETENTION, work.now + DAY)
        done = await purge_audited(work.session, SCHEDULE, work.now, timedelta(days=self.days))
        await work.session.flush()
        # Inside the unit: a rollback after this leaves rows whose file is gone (served 404).
        await remove_files(self.storage, done.files)
        log.info("privacy.purged chats=%d customers=%d", done.chats, done.customers)

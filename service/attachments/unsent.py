"""Unsent uploads: a file uploaded for a message that was never sent is deleted, row and
bytes, ``KEFU_UNSENT_UPLOAD_TTL_H`` after its upload (S-privacy: a screenshot the customer
changed their mind about is not kept for ever).

One durable timer, due when the oldest unsent upload expires: armed by an upload when none is
armed, and by the sweep itself while unsent uploads remain, so a desk that sends every file has
no timer at all, and one that missed its time while no process ran sweeps at the next start.
A message that claims an upload while a sweep deletes it loses cleanly: the claim's
``UPDATE … WHERE seq IS NULL`` and the sweep's ``DELETE … WHERE seq IS NULL`` take the same
row lock, so either the message carries the file and the sweep skips it, or the file is gone
and the message is refused ``unknown_attachment``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from service.attachments.storage import Storage
from service.db.models import Attachment, Timer
from service.db.unit_of_work import Work
from service.timers.scheduler import Scheduler, arm

log = logging.getLogger(__name__)

KIND = "unsent_uploads"


async def delete_unsent(session: AsyncSession, cutoff: datetime) -> list[str]:
    """Delete the rows of uploads no message carries, made before ``cutoff``; their storage
    keys, for the bytes to be removed."""
    result = await session.execute(
        delete(Attachment)
        .where(Attachment.seq.is_(None), Attachment.created_at <= cutoff)
        .returning(Attachment.storage_key)
        .execution_options(synchronize_session=False)
    )
    return list(result.scalars())


class UnsentUploads:
    def __init__(self, ttl_h: float, scheduler: Scheduler, storage: Storage) -> None:
        self.ttl = timedelta(hours=ttl_h)
        self.storage = storage
        scheduler.register(KIND, self._sweep)

    async def _armed(self, work: Work) -> bool:
        return await work.session.scalar(select(Timer.id).where(Timer.key == KIND)) is not None

    async def _arm_for_oldest(self, work: Work) -> None:
        oldest = await work.session.scalar(
            select(func.min(Attachment.created_at)).where(Attachment.seq.is_(None))
        )
        if oldest is not None:
            await arm(work, KIND, KIND, oldest + self.ttl)

    async def arm(self, work: Work) -> None:
        """At start: the uploads left unsent before it (an older release armed nothing)."""
        if not await self._armed(work):
            await self._arm_for_oldest(work)

    async def uploaded(self, work: Work) -> None:
        """An upload was stored in this unit: its expiry, unless an older one's comes first."""
        if not await self._armed(work):
            await arm(work, KIND, KIND, work.now + self.ttl)

    async def _sweep(self, work: Work, timer: Timer) -> None:
        keys = await delete_unsent(work.session, work.now - self.ttl)
        await work.session.flush()
        await self._arm_for_oldest(work)
        # As the retention purge: inside the unit; a rollback after this leaves a row whose
        # file is gone (served 404), and the next sweep takes the row.
        for key in keys:
            await self.storage.delete(key)
        if keys:
            log.info("attachments.unsent_deleted count=%d", len(keys))

"""The resources one process runs on, built in the app's lifespan and passed down."""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from dataclasses import dataclass, field

from service.callbacks.service import Callbacks
from service.chats.routing import Pass, positions_pass, routing_pass
from service.chats.service import ChatService
from service.chats.transfer import Transfers
from service.clock import Clock
from service.complaints.service import ComplaintService
from service.db.engine import Database, create_database
from service.metrics import DeskMetrics
from service.phrases import Catalog
from service.realtime.bus import Bus, create_bus
from service.realtime.hub import Hub
from service.settings import Settings
from service.templates.service import Templates
from service.timers import Scheduler
from service.unit import Units
from service.writer import GroupCommit

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    database: Database
    bus: Bus
    hub: Hub
    units: Units
    scheduler: Scheduler
    catalog: Catalog
    chats: ChatService
    complaints: ComplaintService
    transfers: Transfers
    callbacks: Callbacks
    writer: GroupCommit
    positions: Pass
    router: Pass
    metrics: DeskMetrics = field(default_factory=DeskMetrics)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def templates(self) -> Templates:
        return self.chats.templates

    @classmethod
    def build(cls, settings: Settings, clock: Clock, catalog: Catalog) -> Runtime:
        database = create_database(settings.database_url)
        bus = create_bus(settings.redis_url)
        units = Units(database, bus, clock)
        scheduler = Scheduler(units, settings.scheduler_poll_s)
        chats = ChatService(settings, catalog, scheduler, units)
        complaints = ComplaintService(settings, catalog, scheduler)
        chats.closing_hooks.append(complaints.survey.chat_closing)
        positions = Pass("positions", units, positions_pass, exclusive=False)
        router = Pass("routing", units, routing_pass, exclusive=True)
        units.on_queue_moved = positions.poke
        units.on_route_due = router.poke
        return cls(
            settings,
            clock,
            database,
            bus,
            Hub(bus),
            units,
            scheduler,
            catalog,
            chats,
            complaints,
            Transfers(chats),
            Callbacks(chats, scheduler),
            GroupCommit(units),
            positions,
            router,
        )

    async def start(self, *, run_scheduler: bool = True) -> None:
        await self.bus.connect()
        if self.settings.redis_url is None:
            # One process owns every socket: after a restart none is left.
            async with self.units(exclusive=True) as work:
                await self.chats.reset_presence(work)
        self.tasks.append(asyncio.create_task(self.hub.run(), name="kefu.hub"))
        self.tasks.append(asyncio.create_task(self.positions.run(), name="kefu.positions"))
        self.tasks.append(asyncio.create_task(self.router.run(), name="kefu.routing"))
        if run_scheduler:
            self.tasks.append(asyncio.create_task(self.scheduler.run(), name="kefu.scheduler"))

    async def stop(self) -> None:
        self.hub.close_all()
        await asyncio.sleep(0)
        await self.writer.stop()
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        await self.bus.disconnect()
        await self.database.dispose()

"""The resources one process runs on, built in the app's lifespan and passed down."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from service.api.limits import Limits
from service.api.origins import Origins
from service.api.shared_caps import SharedCaps
from service.attachments.service import Attachments
from service.attachments.storage import DiskStorage
from service.attachments.unsent import UnsentUploads
from service.callbacks.service import Callbacks
from service.chats.presence import AGENT, Heartbeat
from service.chats.routing import Pass, positions_pass, routing_pass
from service.chats.service import ChatService
from service.chats.transfer import Transfers
from service.clock import Clock
from service.complaints.service import ComplaintService
from service.db.engine import Database, create_database
from service.db.group_commit import GroupCommit
from service.db.unit_of_work import Units, Work
from service.desk.handover import Handovers
from service.incidents.service import Incidents
from service.metrics import DeskMetrics
from service.privacy.contacts import Sealer
from service.privacy.service import Retention
from service.promises.service import Promises
from service.realtime.bus import Bus, create_bus
from service.realtime.hub import Hub
from service.settings import Settings
from service.supervisor import Supervisor
from service.templates import Catalog
from service.templates.service import Templates
from service.timers import Scheduler
from service.tokens.sweep import SignInSweep
from service.webhooks.delivery import Deliveries
from service.webhooks.outbox import Outbox

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
    incidents: Incidents
    transfers: Transfers
    callbacks: Callbacks
    promises: Promises
    handovers: Handovers
    writer: GroupCommit
    positions: Pass
    router: Pass
    heartbeat: Heartbeat
    attachments: Attachments
    limits: Limits
    origins: Origins
    webhooks: Outbox
    deliveries: Deliveries
    retention: Retention
    unsent_uploads: UnsentUploads
    sign_ins: SignInSweep
    caps: SharedCaps
    metrics: DeskMetrics = field(default_factory=DeskMetrics)
    supervisor: Supervisor = field(default_factory=Supervisor)

    @property
    def templates(self) -> Templates:
        return self.chats.templates

    @classmethod
    def build(cls, settings: Settings, clock: Clock, catalog: Catalog) -> Runtime:
        database = create_database(settings.database_url)
        bus = create_bus(settings.redis_url, settings.bus_prefix)
        metrics = DeskMetrics()
        units = Units(database, bus, clock, metrics)
        scheduler = Scheduler(units, settings.scheduler_poll_s)
        chats = ChatService(settings, catalog, scheduler, units)
        complaints = ComplaintService(settings, catalog, scheduler, chats.template)
        chats.closing_hooks.append(complaints.survey.chat_closing)
        chats.message_hooks.append(complaints.scan_message)
        # Surge mode: a first message matching an open incident is answered and linked; so
        # is a matching complaint, and a large batch declares an incident by itself.
        incidents = Incidents(settings, catalog, chats.template, chats.desk)
        chats.first_message_hooks.append(incidents.first_message)
        chats.ready_hooks.append(incidents.ready_fields)
        complaints.recorder.recorded_hooks.append(incidents.complaint_recorded)
        positions = Pass("positions", units, positions_pass)
        router = Pass("routing", units, routing_pass)
        units.on_queue_moved = positions.poke
        units.on_route_due = router.poke
        hub = Hub(bus)
        # Webhooks: the outbox watches each unit and adds its rows before the commit.
        webhooks = Outbox(clock, settings.webhook_cache_s)
        units.on_begin = webhooks.begin
        units.on_flush = webhooks.flush
        units.on_assigned.append(webhooks.assigned)
        chats.closing_hooks.append(webhooks.closing)

        async def socket_lost(work: Work, kind: str, ref_id: int, process: str) -> None:
            if kind == AGENT:
                await chats.agent_left(work, ref_id, process)
            else:
                await chats.customer_left(work, ref_id, process)

        chats.presence.held = hub.held
        heartbeat = Heartbeat(chats.presence, units, socket_lost)
        promises = Promises(settings, scheduler, chats.desk.zone, chats.conduct.say)
        handovers = Handovers(
            settings,
            scheduler,
            chats.desk,
            chats.timing,
            chats.template,
            chats.set_status,
            complaints,
            promises,
        )
        storage = DiskStorage(settings.media_dir)
        limits = Limits(settings, clock, metrics.count_limited)
        unsent = UnsentUploads(settings.unsent_upload_ttl_h, scheduler, storage)
        return cls(
            settings,
            clock,
            database,
            bus,
            hub,
            units,
            scheduler,
            catalog,
            chats,
            complaints,
            incidents,
            Transfers(settings, chats.template),
            Callbacks(
                settings,
                scheduler,
                chats.desk,
                chats.template,
                chats.close,
                Sealer.of(settings, clock),
            ),
            promises,
            handovers,
            GroupCommit(units),
            positions,
            router,
            heartbeat,
            Attachments(settings, units, storage, unsent),
            limits,
            Origins.of(settings),
            webhooks,
            Deliveries(database, settings, clock, metrics.count_webhook),
            Retention(settings.retention_days, scheduler, storage),
            unsent,
            SignInSweep(units, hub, settings.sign_in_check_s, lambda: bus.up),
            SharedCaps(limits, settings.redis_url, settings.bus_prefix, settings.process_ttl_s),
            metrics,
        )

    async def start(self, *, run_scheduler: bool = True) -> None:
        await self.bus.connect()
        await self.attachments.start()
        only_process = self.settings.redis_url is None
        async with self.units() as work:
            await self.chats.presence.register(work, only_process=only_process)
            if only_process:
                # One process owns every socket: after a restart none is left.
                await self.chats.reset_presence(work)
        async with self.units() as work:
            await self.handovers.arm(work)
            await self.retention.arm(work)
            await self.unsent_uploads.arm(work)
        self.supervisor.start("heartbeat", self.heartbeat.run)
        self.supervisor.start("hub", self.hub.run)
        self.supervisor.start("positions", self.positions.run)
        self.supervisor.start("routing", self.router.run)
        self.supervisor.start("sign_ins", self.sign_ins.run)
        if self.settings.redis_url is not None:
            poll_s = self.settings.bus_poll_s
            self.supervisor.start("gap_fill", lambda: self.hub.run_gap_fill(poll_s))
            self.supervisor.start("caps", self.caps.run)
        if run_scheduler:
            self.supervisor.start("scheduler", self.scheduler.run)
            self.supervisor.start("webhooks", self.deliveries.run)

    async def stop(self) -> None:
        """Bounded: each step gets a share of ``shutdown_timeout_s``, then is left behind."""
        bound = self.settings.shutdown_timeout_s / 3
        self.hub.close_all()
        await asyncio.sleep(0)
        try:
            await asyncio.wait_for(self.writer.stop(), bound)
        except TimeoutError:
            log.error("writer.stuck_on_stop")
        await self.supervisor.stop(bound)
        try:
            # Sockets whose departure was not written (a handler cut short) are counted out.
            await asyncio.wait_for(self.heartbeat.retire(), bound)
        except Exception:
            log.exception("presence.retire_failed")
        try:
            await asyncio.wait_for(self.bus.disconnect(), bound)
        except TimeoutError:
            log.error("bus.stuck_on_stop")
        await self.caps.close()
        await self.database.dispose()

"""The Prometheus series of one app (docs/operations.md lists them and what each tells).

Gauges of the desk's state are read at scrape time (service/api/metrics.py); counters and
histograms of what happens are counted where it happens: frames in and out by type (the
gateways, the hub), error codes sent, events published by type (the unit of work: a ``message``
event is a stored message), the group commit's batch sizes and the time to an ack, timers fired
and how late, agents' reply waits (S-no-silence). Each ``count_*`` keeps its label children, so
the hot path pays a dictionary lookup and an increment.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

# Seconds: an ack or a timer is late at tens of milliseconds; a reply wait at a minute.
FAST = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REPLY = (5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0, 300.0, 600.0)
BATCH = (1, 2, 5, 10, 20, 50, 100, 200, 500)


class DeskMetrics:
    """One registry per app, so several apps in one process (tests) never share series."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.chats = Gauge(
            "kefu_chats", "Chats not closed, by status", ["status"], registry=self.registry
        )
        self.agents = Gauge(
            "kefu_agents",
            "Active agents by status (connected ones only)",
            ["status"],
            registry=self.registry,
        )
        self.longest_wait = Gauge(
            "kefu_queue_longest_wait_seconds",
            "How long the first chat in the queue has waited",
            registry=self.registry,
        )
        self.sockets = Gauge(
            "kefu_sockets", "Sockets held by this process", ["audience"], registry=self.registry
        )
        self.bus_up = Gauge(
            "kefu_bus_up",
            "1 while the event bus delivers live, 0 while sockets read the database instead",
            registry=self.registry,
        )
        self.bus_outages = Gauge(
            "kefu_bus_outages", "Times the bus went down since start", registry=self.registry
        )
        self.tasks_dead = Gauge(
            "kefu_tasks_dead",
            "Background tasks given up after repeated crashes",
            registry=self.registry,
        )
        self.task_restarts = Gauge(
            "kefu_task_restarts",
            "Restarts of each background task since start",
            ["task"],
            registry=self.registry,
        )
        self.processes = Gauge(
            "kefu_processes",
            "kefu processes of this deployment whose heartbeat is fresh",
            registry=self.registry,
        )
        self.processes_expired = Gauge(
            "kefu_processes_expired",
            "Dead processes whose sockets this process counted out since start",
            registry=self.registry,
        )
        self.frames_in = Counter(
            "kefu_frames_received",
            "Frames received from clients, by audience and type",
            ["audience", "type"],
            registry=self.registry,
        )
        self.frames_out = Counter(
            "kefu_frames_sent",
            "Frames sent to clients, by audience and type",
            ["audience", "type"],
            registry=self.registry,
        )
        self.errors = Counter(
            "kefu_errors",
            "Error frames sent to clients, by code",
            ["code"],
            registry=self.registry,
        )
        self.limited = Counter(
            "kefu_limited",
            "Refusals by a limit, by limit (docs/protocol.md, Limits)",
            ["limit"],
            registry=self.registry,
        )
        self.webhook_attempts = Counter(
            "kefu_webhook_attempts",
            "Webhook delivery attempts, by outcome (delivered, retry, failed)",
            ["outcome"],
            registry=self.registry,
        )
        self.events = Counter(
            "kefu_events_published",
            "Events published after a commit, by type (message: a stored message)",
            ["type"],
            registry=self.registry,
        )
        self.publish_failures = Counter(
            "kefu_publish_failures",
            "Events whose publish failed after the commit (filled from the database)",
            registry=self.registry,
        )
        self.ack_seconds = Histogram(
            "kefu_ack_seconds",
            "From a stored frame's arrival at the group commit to its ack",
            buckets=FAST,
            registry=self.registry,
        )
        self.hello_seconds = Histogram(
            "kefu_hello_seconds",
            "From a customer's hello at the group commit to its chat's ready (S-welcome)",
            buckets=FAST,
            registry=self.registry,
        )
        self.batch_units = Histogram(
            "kefu_writer_batch_units",
            "Units of work per group-commit batch",
            buckets=BATCH,
            registry=self.registry,
        )
        self.writer_replays = Counter(
            "kefu_writer_replays",
            "Batches rolled back and replayed unit by unit (one unit failed)",
            registry=self.registry,
        )
        self.timers_fired = Counter(
            "kefu_timers_fired",
            "Timers fired, by kind",
            ["kind"],
            registry=self.registry,
        )
        self.timers_failed = Counter(
            "kefu_timers_failed",
            "Timer handlers that failed (retried later), by kind",
            ["kind"],
            registry=self.registry,
        )
        self.timer_late_seconds = Histogram(
            "kefu_timer_late_seconds",
            "How long after its due time a timer fired",
            buckets=FAST,
            registry=self.registry,
        )
        self.reply_wait_seconds = Histogram(
            "kefu_reply_wait_seconds",
            "How long customers waited for each agent reply (S-no-silence)",
            buckets=REPLY,
            registry=self.registry,
        )
        self._children: dict[tuple[object, ...], Counter] = {}

    def _child(self, counter: Counter, *labels: str) -> Counter:
        key = (id(counter), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        return child

    def count_in(self, audience: str, frame_type: str) -> None:
        self._child(self.frames_in, audience, frame_type).inc()

    def count_out(self, audience: str, frame_type: str) -> None:
        self._child(self.frames_out, audience, frame_type).inc()

    def count_error(self, code: str) -> None:
        self._child(self.errors, code).inc()

    def count_limited(self, limit: str) -> None:
        self._child(self.limited, limit).inc()

    def count_webhook(self, outcome: str) -> None:
        self._child(self.webhook_attempts, outcome).inc()

    def count_event(self, event_type: str) -> None:
        self._child(self.events, event_type).inc()

    def count_timer(self, kind: str, late_s: float, *, failed: bool = False) -> None:
        if failed:
            self._child(self.timers_failed, kind).inc()
            return
        self._child(self.timers_fired, kind).inc()
        self.timer_late_seconds.observe(max(late_s, 0.0))

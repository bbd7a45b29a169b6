"""The Prometheus series of one app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge


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

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

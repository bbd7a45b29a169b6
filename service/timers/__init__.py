"""Durable timers: rows with a due time, armed in the transaction that causes them."""

from service.timers.scheduler import Scheduler, arm, cancel

__all__ = ["Scheduler", "arm", "cancel"]

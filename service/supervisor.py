"""The owner of a process's background tasks: restarts one that crashes, or gives up loudly.

A loop that ends by an exception is logged with its traceback and started again after a short
backoff; one that keeps crashing (``max_restarts`` within ``window_s``) is left dead, logged at
error level, and ``/readyz`` answers 503 naming it, so the load balancer takes the process out.
A loop that returns on its own is a fault too: these loops are meant to run until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextlib import suppress

log = logging.getLogger(__name__)

Loop = Callable[[], Awaitable[None]]


class Supervisor:
    def __init__(
        self, *, max_restarts: int = 5, window_s: float = 60.0, backoff_s: float = 0.5
    ) -> None:
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.restarts: dict[str, int] = {}
        self.dead: set[str] = set()
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str, loop: Loop) -> None:
        self.restarts.setdefault(name, 0)
        self._tasks[name] = asyncio.create_task(self._own(name, loop), name=f"kefu.{name}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._tasks)

    async def _own(self, name: str, loop: Loop) -> None:
        crashes: list[float] = []
        while True:
            try:
                await loop()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task.crashed task=%s", name)
            else:
                log.error("task.returned task=%s", name)
            now = time.monotonic()
            crashes = [at for at in crashes if now - at < self.window_s] + [now]
            if len(crashes) > self.max_restarts:
                self.dead.add(name)
                log.error("task.dead task=%s crashes=%s", name, len(crashes))
                return
            self.restarts[name] += 1
            await asyncio.sleep(self.backoff_s * len(crashes))
            log.warning("task.restarted task=%s", name)

    async def stop(self, timeout_s: float) -> None:
        """Cancel every task and wait for them, at most ``timeout_s`` in all."""
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        if tasks:
            done, pending = await asyncio.wait(tasks, timeout=timeout_s)
            for task in pending:
                log.error("task.stuck_on_stop task=%s", task.get_name())
            for task in done:
                with suppress(asyncio.CancelledError):
                    task.result()
        self._tasks.clear()

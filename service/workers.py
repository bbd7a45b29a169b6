"""``serve --workers N``: N equal server processes on one listening socket, and their parent.

The parent binds the port, migrates and prints the banner once, then starts the workers (each a
whole kefu: its own hub, writer, scheduler) and restarts one that dies. SIGTERM or SIGINT is
passed on to every worker, which stops gracefully (1001 to its sockets, bounded by
``KEFU_SHUTDOWN_TIMEOUT_S``); a worker still running after that and a margin is killed.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import socket
import time
from multiprocessing.process import BaseProcess
from types import FrameType

from service.settings import Settings

log = logging.getLogger(__name__)

# A worker that fails by itself this soon after its start is broken, not unlucky: no loop on it.
EARLY_DEATH_S = 5.0
KILL_MARGIN_S = 5.0


class WorkersRefused(Exception):
    """The settings cannot run several processes (the message says which and why)."""


def check(settings: Settings, workers: int) -> None:
    if workers < 1:
        raise WorkersRefused("kefu: --workers needs a number of 1 or more")
    if workers == 1:
        return
    if settings.is_sqlite:
        raise WorkersRefused(
            "kefu: --workers needs PostgreSQL: SQLite is one process's file"
            " (set KEFU_DATABASE_URL=postgresql+asyncpg://…, or serve without --workers)"
        )
    if settings.redis_url is None:
        raise WorkersRefused(
            "kefu: --workers needs KEFU_REDIS_URL: without Redis a worker's sockets never hear"
            " of what the others store"
        )


def run_worker(sock: socket.socket) -> None:
    """One worker: the whole server on the inherited socket (a spawned process's entry)."""
    from service.serving import run_server  # not at import: the parent needs none of it

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    run_server(Settings(), sock)


class Workers:
    def __init__(self, settings: Settings, sock: socket.socket, count: int) -> None:
        self.settings = settings
        self.sock = sock
        self.count = count
        self.context = multiprocessing.get_context("spawn")
        self.processes: list[tuple[BaseProcess, float]] = []
        self.stopping = False

    def _start(self) -> tuple[BaseProcess, float]:
        process = self.context.Process(target=run_worker, args=(self.sock,), name="kefu-worker")
        process.start()
        log.info("workers.started pid=%s", process.pid)
        return process, time.monotonic()

    def _stop(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        self.processes = [self._start() for _ in range(self.count)]
        failed = False
        while not self.stopping:
            time.sleep(0.2)
            for index, (process, started) in enumerate(self.processes):
                if process.is_alive() or self.stopping:
                    continue
                log.error("workers.died pid=%s exitcode=%s", process.pid, process.exitcode)
                # Failed by itself at start (not killed by a signal: exitcode < 0): broken.
                early = time.monotonic() - started < EARLY_DEATH_S
                if early and (process.exitcode or 0) > 0:
                    log.error("workers.broken: a worker died at start, stopping")
                    self.stopping = failed = True
                    break
                self.processes[index] = self._start()
        return 1 if self.shutdown() or failed else 0

    def shutdown(self) -> bool:
        """SIGTERM to every worker, then wait; True when one had to be killed."""
        for process, _ in self.processes:
            if process.is_alive() and process.pid is not None:
                process.terminate()
        deadline = time.monotonic() + self.settings.shutdown_timeout_s + KILL_MARGIN_S
        killed = False
        for process, _ in self.processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                log.error("workers.stuck pid=%s: killed", process.pid)
                process.kill()
                process.join()
                killed = True
        return killed

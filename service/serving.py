"""One server process: uvicorn on a bound socket, kefu's graceful stop, the GC tuned.

``python -m service serve`` runs one; ``serve --workers N`` (service/workers.py) one per worker;
the benchmark's servers (bench/server.py) take the same options.
"""

from __future__ import annotations

import gc
import math
import socket
from typing import Any

import uvicorn
from fastapi import FastAPI

from service.settings import Settings


def run_server(settings: Settings, sock: socket.socket) -> None:
    """One server process on a bound socket (``serve``, and each worker of ``--workers``)."""
    from service.app import create_app  # the server's imports, not every command's

    app = create_app(settings)
    tune_gc()  # after the app is built: what start-up made is frozen with it
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        # SIGTERM always ends: a handler still running after this is cancelled.
        timeout_graceful_shutdown=math.ceil(settings.shutdown_timeout_s),
        **uvicorn_options(settings),
    )
    KefuServer(config, app).run(sockets=[sock])


# How long a graceful stop waits for kefu's sockets to take their 1001 before uvicorn's own
# (1012): a share of KEFU_SHUTDOWN_TIMEOUT_S, since under load 2 s was sometimes too little.
CLOSE_SHARE = 0.4


class KefuServer(uvicorn.Server):
    """uvicorn's server, whose graceful stop first closes kefu's sockets with 1001.

    uvicorn itself would close every WebSocket with 1012 (service restart); contract v1 says
    1001 (going away: reconnect and resume, docs/protocol.md).
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections while the sockets close
        runtime = self.app.state.runtime
        await runtime.hub.close_all_and_wait(runtime.settings.shutdown_timeout_s * CLOSE_SHARE)
        await super().shutdown(sockets)


def tune_gc() -> None:
    """Fewer, cheaper garbage collections for a long-running server (docs/benchmarks.md).

    A chat server keeps many long-lived objects (sockets, their queues and tasks) and makes many
    short-lived ones (a unit's rows and frames). With the default thresholds the short-lived
    ones were collected young so often that survivors kept triggering full collections: 19 in a
    benchmark run, up to 310 ms each, every one a stall of every socket. A larger first
    threshold lets most of them die by reference count first; freezing what start-up made
    keeps the collector from walking it again.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The WebSocket flags of ``serve``; the benchmark runs its servers with the same."""
    return {
        "ws": settings.ws,
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws_max_size": settings.max_frame_bytes * 4,
        "ws_ping_interval": settings.ws_ping_interval_s,
        "ws_ping_timeout": settings.ws_ping_timeout_s,
    }

"""The application factory: routers, error mapping and the lifespan that owns every resource."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import RedirectResponse

from service import __version__, pages
from service.api import admin, agent_ws, customer_ws, gate, headers, health, metrics, problems
from service.attachments import endpoints as attachments
from service.clock import Clock, SystemClock
from service.runtime import Runtime
from service.settings import Settings
from service.templates import Catalog


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    run_scheduler: bool = True,
) -> FastAPI:
    settings = settings or Settings()
    # Templates are validated before anything starts: a bad catalogue refuses to serve.
    catalog = Catalog.load(settings.phrases_dir, default_locale=settings.default_locale)
    runtime = Runtime.build(settings, clock or SystemClock(), catalog)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start(run_scheduler=run_scheduler)
        try:
            yield
        finally:
            await runtime.stop()

    # The docs pages are served by service.pages from vendored assets, not from a CDN.
    # KEFU_DOCS_PUBLIC=false: no /docs, /redoc nor /openapi.json at all.
    app = FastAPI(
        title="kefu",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_public else None,
    )
    app.state.runtime = runtime
    problems.install(app)
    # Outermost last: the headers go on every answer, the gate's refusals included.
    app.add_middleware(gate.AdminGate, runtime=lambda: runtime)
    app.add_middleware(headers.SecurityHeaders)
    # The sockets first: routes are tried in order, and a storm of new chats is thousands of
    # socket opens (behind every admin route, matching was ~8 % of a storm's CPU).
    app.include_router(customer_ws.router)
    app.include_router(agent_ws.router)
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(admin.router)
    app.include_router(attachments.router)
    pages.install(
        app, with_docs=settings.docs_public, widget_frame_ancestors=settings.widget_frame_ancestors
    )

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/widget/")

    return app

"""The pages kefu serves itself: widget, console, dashboard, demo host page, API docs, vendored
assets.

Everything a page loads comes from kefu (no CDN), so the pages and ``/docs`` work without
internet. Each response says how it may be cached, and every HTML page carries a
Content-Security-Policy that allows only kefu's own origin (and its sockets).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from service import demo

WEB = Path(__file__).resolve().parent / "web"
SWAGGER_UI = "swagger-ui-5.32.0"
REDOC = "redoc-2.5.0"
# The dashboard's charts; its page and charts.js name this folder (a test checks they agree).
UPLOT = "uplot-1.6.32"
VENDOR_URL = "/vendor"

# Unversioned files revalidate every time (their ETag makes that a 304); vendored ones carry
# their version in the URL, so a browser may keep them for a year.
REVALIDATE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](:[0-9]+)?$")
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


# Who may frame a page: the widget any site that embeds it (the loader frames it; narrowed by
# KEFU_WIDGET_FRAME_ANCESTORS), the demo host page only kefu, the console nobody (a framed
# console could be clicked through), nor the supervisor dashboard.
FRAMED_BY: dict[str, str | None] = {
    "widget": None,
    "demo": "'self'",
    "console": "'none'",
    "dashboard": "'none'",
}


def page_csp(host: str | None, framed_by: str | None = None) -> str:
    """The policy of the pages: own scripts and styles, own sockets, own frames."""
    sockets = f" ws://{host} wss://{host}" if host and _HOST.match(host) else ""
    ancestors = f"; frame-ancestors {framed_by}" if framed_by else ""
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        f"connect-src 'self'{sockets}; object-src 'none'; base-uri 'none'; form-action 'self'"
        f"{ancestors}"
    )


def docs_csp(html: str) -> str:
    """The policy of a docs page: its own inline start-up script by hash, nothing else inline.

    Swagger UI and ReDoc set styles at run time (ReDoc inserts <style> elements, and starts
    its search worker from a blob), so styles may be inline and workers may come from blobs.
    """
    digests = (hashlib.sha256(s.encode()).digest() for s in _INLINE_SCRIPT.findall(html))
    hashes = "".join(f" 'sha256-{base64.b64encode(d).decode()}'" for d in digests)
    return (
        f"default-src 'self'; script-src 'self'{hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'self'"
    )


class Pages(StaticFiles):
    """Static files with a cache policy, and the page policy on HTML."""

    def __init__(
        self,
        directory: Path,
        *,
        cache_control: str,
        html: bool = False,
        framed_by: str | None = None,
    ) -> None:
        super().__init__(directory=directory, html=html)
        self.cache_control = cache_control
        self.framed_by = framed_by

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers["Cache-Control"] = self.cache_control
        if response.headers.get("content-type", "").startswith("text/html"):
            host = Request(scope).headers.get("host")
            response.headers["Content-Security-Policy"] = page_csp(host, self.framed_by)
        return response


async def _to_demo() -> RedirectResponse:
    return RedirectResponse("/demo/")


async def _demo(request: Request) -> Response:
    response = await demo.demo_page(request)
    # The page holds a fresh signature: never cached.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = page_csp(
        request.headers.get("host"), FRAMED_BY["demo"]
    )
    return response


def _docs_page(html: HTMLResponse) -> HTMLResponse:
    body = bytes(html.body).decode()
    return HTMLResponse(
        body,
        headers={"Cache-Control": REVALIDATE, "Content-Security-Policy": docs_csp(body)},
    )


def install(
    app: FastAPI, *, with_docs: bool = True, widget_frame_ancestors: str | None = None
) -> None:
    """Mount the pages and the vendored assets, and serve ``/docs`` and ``/redoc`` from them
    (unless ``with_docs`` is off: KEFU_DOCS_PUBLIC=false)."""
    app.add_api_route("/demo/", _demo, include_in_schema=False)  # before its folder's mount
    app.add_api_route("/demo", _to_demo, include_in_schema=False)
    framing = {**FRAMED_BY, "widget": widget_frame_ancestors}
    for page, framed_by in framing.items():
        if (WEB / page).is_dir():
            # The demo page itself is rendered by _demo; its folder serves only assets.
            html = page != "demo"
            pages = Pages(WEB / page, cache_control=REVALIDATE, html=html, framed_by=framed_by)
            app.mount(f"/{page}", pages, name=page)
    # Modules the pages share (the socket with its reconnect), scripts only.
    app.mount("/common", Pages(WEB / "common", cache_control=REVALIDATE), name="common")
    app.mount(VENDOR_URL, Pages(WEB / "vendor", cache_control=IMMUTABLE), name="vendor")
    if not with_docs:
        return

    openapi_url = app.openapi_url or "/openapi.json"
    swagger = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{app.title} — API",
        swagger_js_url=f"{VENDOR_URL}/{SWAGGER_UI}/swagger-ui-bundle.js",
        swagger_css_url=f"{VENDOR_URL}/{SWAGGER_UI}/swagger-ui.css",
        swagger_favicon_url=f"{VENDOR_URL}/{SWAGGER_UI}/favicon-32x32.png",
        oauth2_redirect_url=None,
    )
    redoc = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{app.title} — API",
        redoc_js_url=f"{VENDOR_URL}/{REDOC}/redoc.standalone.js",
        redoc_favicon_url=f"{VENDOR_URL}/{SWAGGER_UI}/favicon-32x32.png",
        with_google_fonts=False,
    )

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return _docs_page(swagger)

    @app.get("/redoc", include_in_schema=False)
    async def redoc_page() -> HTMLResponse:
        return _docs_page(redoc)

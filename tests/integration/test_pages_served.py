"""The pages and the API docs come from kefu itself, with cache rules and a CSP on every page."""

from __future__ import annotations

import html
import json
import re

import pytest

from service.pages import REDOC, SWAGGER_UI, UPLOT, WEB
from service.security import sign_player
from tests.support.server import PLAYER_SECRET, Server

ASSETS = {
    f"/vendor/{SWAGGER_UI}/swagger-ui-bundle.js": "javascript",
    f"/vendor/{SWAGGER_UI}/swagger-ui.css": "text/css",
    f"/vendor/{REDOC}/redoc.standalone.js": "javascript",
    f"/vendor/{UPLOT}/uPlot.esm.js": "javascript",
}
PAGES = ("/widget/", "/console/", "/dashboard/", "/demo/", "/docs", "/redoc")
SCRIPTS = (
    "/widget/widget.js",
    "/widget/chat.js",
    "/widget/strings.js",
    "/widget/store.js",
    "/widget/log.js",
    "/common/socket.js",
    "/common/owners.js",
    "/common/notify.js",
    "/console/owners.js",
    "/console/console.js",
    "/console/quick.js",
    "/console/transfer.js",
    "/console/clock.js",
    "/console/lines.js",
    "/console/list.js",
    "/demo/demo.js",
    "/dashboard/dashboard.js",
    "/dashboard/api.js",
    "/dashboard/charts.js",
    "/dashboard/complaints.js",
    "/dashboard/transcript.js",
    "/dashboard/alerts.js",
)

# The pages do not depend on the database; one backend is enough.
pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


async def test_docs_load_swagger_ui_from_kefu_not_a_cdn(server: Server) -> None:
    response = await server.http.get("/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', response.text)
    assert f"/vendor/{SWAGGER_UI}/swagger-ui-bundle.js" in sources
    assert all(url.startswith("/") for url in sources), sources


async def test_redoc_loads_from_kefu_without_google_fonts(server: Server) -> None:
    response = await server.http.get("/redoc")
    assert response.status_code == 200
    assert f"/vendor/{REDOC}/redoc.standalone.js" in response.text
    assert "googleapis" not in response.text and "cdn." not in response.text


async def test_vendored_assets_are_served_with_their_type_and_kept_a_year(server: Server) -> None:
    for url, kind in ASSETS.items():
        response = await server.http.get(url)
        assert response.status_code == 200, url
        assert kind in response.headers["content-type"], (url, response.headers)
        assert "immutable" in response.headers["cache-control"], url
        assert len(response.content) > 100_000, url


async def test_every_page_has_a_csp_and_is_revalidated(server: Server) -> None:
    for url in PAGES:
        response = await server.http.get(url)
        assert response.status_code == 200, url
        csp = response.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "object-src 'none'" in csp, (url, csp)
        # The demo page holds a fresh player signature: it is never kept.
        expected = "no-store" if url == "/demo/" else "no-cache"
        assert response.headers["cache-control"] == expected, url


async def test_the_widget_scripts_are_served_as_javascript(server: Server) -> None:
    for url in SCRIPTS:
        response = await server.http.get(url)
        assert response.status_code == 200, url
        assert "javascript" in response.headers["content-type"], url


async def test_the_three_pages_share_one_stylesheet_served_once(server: Server) -> None:
    """The base (palette, type, buttons, focus ring) is /common/common.css, linked before each
    page's own sheet; no page repeats it."""
    for page, own in (
        ("widget", "widget.css"),
        ("console", "console.css"),
        ("dashboard", "dashboard.css"),
    ):
        text = (await server.http.get(f"/{page}/")).text
        links = re.findall(r'<link rel="stylesheet" href="([^"]+)"', text)
        assert links[0] == "/common/common.css" and links[-1] == own, (page, links)
        sheet = (await server.http.get(f"/{page}/{own}")).text
        assert "font-family" not in sheet and "\n:focus-visible" not in sheet, page
    common = await server.http.get("/common/common.css")
    assert common.status_code == 200 and "text/css" in common.headers["content-type"]
    assert common.headers["cache-control"] == "no-cache"
    assert "--brand:" in common.text and ":focus-visible" in common.text


async def test_any_site_may_frame_the_widget_but_nobody_the_console(server: Server) -> None:
    widget = (await server.http.get("/widget/")).headers["content-security-policy"]
    console = (await server.http.get("/console/")).headers["content-security-policy"]
    demo = (await server.http.get("/demo/")).headers["content-security-policy"]
    assert "frame-ancestors" not in widget
    assert console.endswith("frame-ancestors 'none'")
    assert demo.endswith("frame-ancestors 'self'")


async def test_the_dashboard_draws_with_the_vendored_uplot_and_is_never_framed(
    server: Server,
) -> None:
    page = await server.http.get("/dashboard/")
    assert page.headers["content-security-policy"].endswith("frame-ancestors 'none'")
    assert f'href="/vendor/{UPLOT}/uPlot.min.css"' in page.text
    charts = (WEB / "dashboard" / "charts.js").read_text(encoding="utf-8")
    assert f'from "/vendor/{UPLOT}/uPlot.esm.js"' in charts
    css = await server.http.get(f"/vendor/{UPLOT}/uPlot.min.css")
    assert (css.status_code, "immutable" in css.headers["cache-control"]) == (200, True)
    assert "MIT License" in (WEB / "vendor" / UPLOT / "LICENSE").read_text(encoding="utf-8")


async def test_the_demo_folder_without_its_slash_leads_to_the_page(server: Server) -> None:
    response = await server.http.get("/demo")
    assert (response.status_code, response.headers["location"]) == (307, "/demo/")


async def test_the_demo_page_is_a_guest_without_the_demo_setting(server: Server) -> None:
    page = (await server.http.get("/demo/")).text
    assert '<meta name="kefu-demo-player" content="">' in page
    assert 'src="/widget/widget.js"' in page


@pytest.mark.parametrize("settings_overrides", [{"demo": True}])
async def test_the_demo_page_signs_a_sample_player_and_never_shows_the_secret(
    server: Server,
) -> None:
    page = (await server.http.get("/demo/")).text
    found = re.search(r'<meta name="kefu-demo-player" content="([^"]+)">', page)
    assert found
    player = json.loads(html.unescape(found.group(1)))
    ts = int(server.clock.now().timestamp())
    sig = sign_player(PLAYER_SECRET, "demo-vip-001", "演示玩家", "vip3", ts)
    expected = {"id": "demo-vip-001", "name": "演示玩家", "tier": "vip3", "ts": ts, "sig": sig}
    assert player == expected
    assert PLAYER_SECRET not in page


async def test_page_csp_allows_the_pages_own_sockets_and_no_inline_script(server: Server) -> None:
    host = server.url.split("://", 1)[1]
    csp = (await server.http.get("/console/")).headers["content-security-policy"]
    assert f"connect-src 'self' ws://{host} wss://{host};" in csp
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp


async def test_docs_csp_allows_only_its_own_inline_script_by_hash(server: Server) -> None:
    csp = (await server.http.get("/docs")).headers["content-security-policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+';", csp), csp


async def test_an_unchanged_page_file_revalidates_to_304(server: Server) -> None:
    first = await server.http.get("/widget/widget.js")
    assert first.headers["cache-control"] == "no-cache"
    etag = first.headers["etag"]
    again = await server.http.get("/widget/widget.js", headers={"if-none-match": etag})
    assert again.status_code == 304

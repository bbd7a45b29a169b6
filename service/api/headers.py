"""Headers every HTTP answer carries: no MIME sniffing, no referrer, no framing (but the
widget, which host sites embed), and no caching of the admin API (tokens, customer data).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALWAYS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
# The docs pages' CSP allows framing by kefu itself (frame-ancestors 'self'); say the same.
SAME_ORIGIN = ("/docs", "/redoc")
EMBEDDED = "/widget"  # framed by host sites: its CSP frame-ancestors decides (service/pages.py)
NO_STORE = "/api/v1"


def frame_option(path: str) -> str | None:
    if path == EMBEDDED or path.startswith(EMBEDDED + "/"):
        return None
    if path in SAME_ORIGIN:
        return "SAMEORIGIN"
    return "DENY"


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in ALWAYS.items():
                    headers.setdefault(name, value)
                frame = frame_option(path)
                if frame is not None:
                    headers.setdefault("X-Frame-Options", frame)
                if path.startswith(NO_STORE):
                    # S-privacy: agent tokens and customer details stay out of every cache.
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, with_headers)

"""The demo host page (/demo/): a pretend game site that embeds the widget with its snippet.

With ``KEFU_DEMO`` and ``KEFU_PLAYER_SECRET`` set it signs a fixed sample VIP player, as a
game backend would, and writes that signature (never the secret) into the page.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.runtime import Runtime
from service.security import sign_player

PAGE = Path(__file__).resolve().parent / "web" / "demo" / "index.html"
PLAYER_SLOT = "{{player}}"
SAMPLE_PLAYER = {"id": "demo-vip-001", "name": "演示玩家", "tier": "vip3"}


def sample_player(runtime: Runtime) -> dict[str, Any] | None:
    """The signed sample player, or None when the demo may not sign (a guest chats then)."""
    settings = runtime.settings
    if not (settings.demo and settings.player_secret):
        return None
    ts = int(runtime.clock.now().timestamp())
    player_id, name, tier = SAMPLE_PLAYER["id"], SAMPLE_PLAYER["name"], SAMPLE_PLAYER["tier"]
    sig = sign_player(settings.player_secret, player_id, name, tier, ts)
    return {**SAMPLE_PLAYER, "ts": ts, "sig": sig}


async def demo_page(request: Request) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    player = sample_player(runtime)
    body = PAGE.read_text(encoding="utf-8").replace(
        PLAYER_SLOT, html.escape(json.dumps(player, ensure_ascii=False) if player else "")
    )
    return HTMLResponse(body)

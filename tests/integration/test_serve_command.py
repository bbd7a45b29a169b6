"""``python -m service serve`` as a new user runs it: bound first, then the banner."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
from pathlib import Path

from service.__main__ import banner, listen
from service.settings import Settings
from tests.support.server import FACTOR, free_socket

FIXED = "a-fixed-admin-token"  # KEFU_ADMIN_TOKEN needs 16 characters or more


def serve(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}",
        "KEFU_HOST": "127.0.0.1",
        "KEFU_PORT": str(port),
    }
    return subprocess.run(
        [sys.executable, "-m", "service", "serve"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30 * FACTOR,
    )


def test_a_taken_port_is_one_clear_line_and_a_failed_exit(tmp_path: Path) -> None:
    with free_socket() as held:
        held.listen()
        port = held.getsockname()[1]
        done = serve(tmp_path, port)
    assert done.returncode != 0
    assert "kefu is serving" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in lines[0]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "kefu.db").exists(), "nothing should be migrated before the bind"


def test_the_admin_token_stands_out_of_the_banner() -> None:
    text = banner(Settings(admin_token=None), "kfadm_secret", 8123)
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if "kfadm_secret" in line)
    assert set(lines[at - 1].strip()) == {"*"} and set(lines[at + 1].strip()) == {"*"}
    assert "http://127.0.0.1:8123/docs" in text


def test_the_banner_names_the_brand_and_how_to_set_it() -> None:
    text = banner(Settings(brand="星辰游戏", admin_token=FIXED), None, 8000)
    assert "星辰游戏" in text and "KEFU_BRAND" in text


def test_the_banner_says_when_the_demo_page_signs_a_sample_player() -> None:
    plain = banner(Settings(admin_token=FIXED), None, 8000)
    demo = banner(Settings(admin_token=FIXED, demo=True), None, 8000)
    assert "http://127.0.0.1:8000/demo/" in plain and "KEFU_DEMO" not in plain
    assert "KEFU_DEMO" in demo


def test_listen_gives_a_socket_with_nagle_off_for_accepted_connections() -> None:
    with listen("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP


async def test_a_graceful_stop_closes_sockets_with_1001(tmp_path: Path) -> None:
    """SIGTERM: every socket gets 1001 (reconnect and resume, docs/protocol.md), not 1012."""
    import asyncio
    import json
    import signal
    import time

    import httpx
    import websockets

    with free_socket() as probe:
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}",
        "KEFU_HOST": "127.0.0.1",
        "KEFU_PORT": str(port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "service",
        "serve",
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30 * FACTOR
        while True:
            try:
                async with httpx.AsyncClient() as http:
                    await http.get(f"http://127.0.0.1:{port}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the server did not come up"
                assert process.returncode is None, "the server exited"
                await asyncio.sleep(0.1)
        async with websockets.connect(f"ws://127.0.0.1:{port}/ws/customer") as ws:
            await ws.send(json.dumps({"type": "hello"}))
            ready = json.loads(await asyncio.wait_for(ws.recv(), 5 * FACTOR))
            assert ready["type"] == "ready"
            process.send_signal(signal.SIGTERM)
            with contextlib.suppress(websockets.ConnectionClosed):
                while True:  # the welcome and the nobody-online notice, then the close
                    await asyncio.wait_for(ws.recv(), 10 * FACTOR)
        assert ws.close_code == 1001, (ws.close_code, ws.close_reason)
        # uvicorn re-raises the signal it handled once it has shut down: "killed by SIGTERM".
        code = await asyncio.wait_for(process.wait(), 20 * FACTOR)
        assert code in (0, -signal.SIGTERM)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


def test_the_banner_says_where_the_supervisor_dashboard_is() -> None:
    text = banner(Settings(admin_token=FIXED), None, 8123)
    assert "supervisor desk : http://127.0.0.1:8123/dashboard/" in text

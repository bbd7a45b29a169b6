"""Admin and supervisor tokens over the API and the CLI; agent tokens revoked; a revoked
token's live sockets close within a second, on whichever process holds them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pydantic import ValidationError

from service.db.models import AdminToken
from service.settings import Settings
from tests.support.server import DATA_KEY, FACTOR, Peer, Server

CLOSE_WITHIN_S = 1.0 * FACTOR  # the bound (STYLE 16: scaled on a slow machine)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_supervisor_token_is_created_listed_rotated_and_revoked(server: Server) -> None:
    created = await server.http.post("/api/v1/tokens", json={"name": "质检-张"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    token = created.json()
    assert (token["role"], token["name"]) == ("supervisor", "质检-张")
    assert token["token"].startswith("kfsup_") and token["token"].startswith(token["prefix"])
    assert len(token["prefix"]) < len(token["token"]) // 2
    [stored] = await server.rows(AdminToken.__table__.select())  # type: ignore[arg-type]
    assert token["token"] not in str(stored)

    listed = await server.http.get("/api/v1/tokens")
    assert token["token"] not in listed.text
    assert [(t["id"], t["prefix"]) for t in listed.json()] == [(token["id"], token["prefix"])]
    assert (await server.http.get("/api/v1/complaints", headers=bearer(token["token"]))).is_success

    rotated = (await server.http.post(f"/api/v1/tokens/{token['id']}/rotate")).json()
    assert rotated["id"] == token["id"] and rotated["token"] != token["token"]
    old = await server.http.get("/api/v1/complaints", headers=bearer(token["token"]))
    assert (old.status_code, old.json()["code"]) == (401, "unauthorized")
    assert (
        await server.http.get("/api/v1/complaints", headers=bearer(rotated["token"]))
    ).is_success

    revoked = await server.http.delete(f"/api/v1/tokens/{token['id']}")
    assert revoked.json()["revoked_by"] == "KEFU_ADMIN_TOKEN"
    after = await server.http.get("/api/v1/complaints", headers=bearer(rotated["token"]))
    assert after.status_code == 401
    again = await server.http.post(f"/api/v1/tokens/{token['id']}/rotate")
    assert (again.status_code, again.json()["code"]) == (409, "invalid_state")
    assert (await server.http.get("/api/v1/tokens", params={"revoked": "false"})).json() == []


async def test_an_admin_token_made_over_the_api_can_manage_tokens(server: Server) -> None:
    admin = (
        await server.http.post("/api/v1/tokens", json={"name": "运维", "role": "admin"})
    ).json()
    assert admin["token"].startswith("kfadm_")
    made = await server.http.post(
        "/api/v1/tokens", json={"name": "夜班"}, headers=bearer(admin["token"])
    )
    assert made.status_code == 201
    assert made.json()["created_by"] == "运维"


async def test_a_revoked_token_cannot_revoke(server: Server) -> None:
    admin = (await server.http.post("/api/v1/tokens", json={"name": "a", "role": "admin"})).json()
    await server.http.delete(f"/api/v1/tokens/{admin['id']}")
    response = await server.http.get("/api/v1/tokens", headers=bearer(admin["token"]))
    assert response.status_code == 401


async def test_revoking_an_agent_token_closes_their_socket_within_a_second(
    server: Server,
) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.until("assigned", chat_id=customer.chat_id)
    started = time.monotonic()
    response = await server.http.delete(f"/api/v1/agents/{agent.info['agent']['id']}/token")
    assert response.status_code == 200
    await agent.until("signed_out", reason="token_revoked")
    assert await agent.closed_with() == 4403
    assert time.monotonic() - started < CLOSE_WITHIN_S
    # The token is dead for the socket and for the HTTP API alike.
    again = Peer(await server.connect("/ws/agent"))
    await again.send({"type": "hello", "token": agent.info["token"]})
    assert await again.closed_with() == 4403
    assert (
        await server.http.get("/api/v1/chats", headers=bearer(agent.info["token"]))
    ).status_code == 401
    await customer.until("message", template="returned_to_queue")


async def test_revoking_a_supervisors_token_closes_their_console(server: Server) -> None:
    lead = await server.supervisor()
    headers = bearer(lead.info["token"])
    assert (await server.http.get("/api/v1/complaints", headers=headers)).status_code == 200
    await server.http.delete(f"/api/v1/agents/{lead.info['agent']['id']}/token")
    await lead.until("signed_out", reason="token_revoked")
    assert await lead.closed_with() == 4403
    assert (await server.http.get("/api/v1/complaints", headers=headers)).status_code == 401


async def test_a_revoke_on_one_process_closes_the_socket_held_by_another(
    server_pair: tuple[Server, Server],
) -> None:
    one, two = server_pair
    agent = await two.agent()
    started = time.monotonic()
    await one.http.delete(f"/api/v1/agents/{agent.info['agent']['id']}/token")
    await agent.until("signed_out", reason="token_revoked")
    assert await agent.closed_with() == 4403
    assert time.monotonic() - started < CLOSE_WITHIN_S


def test_a_short_admin_token_is_refused() -> None:
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(_env_file=None, admin_token="x" * 15)
    with pytest.raises(ValidationError, match="without spaces"):
        Settings(_env_file=None, admin_token=" " + "x" * 20)
    assert Settings(_env_file=None, admin_token="x" * 16).admin_token == "x" * 16
    assert Settings(_env_file=None, admin_token="").admin_token is None


def cli(
    database_url: str, tmp_path: Path, *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service", *args],
        env={
            **os.environ,
            "KEFU_DATABASE_URL": database_url,
            "KEFU_ADMIN_TOKEN": "",
            "KEFU_DATA_KEY": DATA_KEY,
            "KEFU_LOG_LEVEL": "warning",
            **env,
        },
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60 * FACTOR,
    )


def test_serve_refuses_a_short_admin_token_in_one_line(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'kefu.db'}"
    done = cli(url, tmp_path, "serve", KEFU_ADMIN_TOKEN="admin")
    assert done.returncode == 2
    assert "kefu is serving" not in done.stdout
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("kefu: KEFU_ADMIN_TOKEN must be at least 16 characters")


async def test_the_cli_creates_lists_rotates_and_revokes_tokens(
    server: Server, tmp_path: Path
) -> None:
    url = server.runtime.settings.database_url
    made = cli(url, tmp_path, "create-token", "质检-李", "--role", "supervisor")
    assert made.returncode == 0, made.stderr
    token_id, token = made.stdout.split()[2], made.stdout.split()[-1]
    assert token.startswith("kfsup_")
    assert (await server.http.get("/api/v1/complaints", headers=bearer(token))).is_success

    listed = cli(url, tmp_path, "list-tokens")
    assert token not in listed.stdout
    assert f"{token_id}\tsupervisor\t{token[:12]}…\t质检-李" in listed.stdout

    rotated = cli(url, tmp_path, "rotate-token", token_id)
    new = rotated.stdout.split()[-1]
    assert (await server.http.get("/api/v1/complaints", headers=bearer(token))).status_code == 401
    assert (await server.http.get("/api/v1/complaints", headers=bearer(new))).is_success

    assert cli(url, tmp_path, "revoke-token", token_id).returncode == 0
    assert (await server.http.get("/api/v1/complaints", headers=bearer(new))).status_code == 401
    missing = cli(url, tmp_path, "revoke-token", "999")
    assert (missing.returncode, missing.stderr.splitlines()[-1]) == (1, "kefu: no token 999")

    assert cli(url, tmp_path, "create-agent", "小王", "3001").returncode == 0

    actions = (await server.http.get("/api/v1/audit", params={"actor": "cli"})).json()
    assert [row["action"] for row in actions["items"]] == [
        "agent.create",
        "token.revoke",
        "token.rotate",
        "token.create",
    ]

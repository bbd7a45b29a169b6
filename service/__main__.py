"""Command line: ``python -m service serve | migrate | healthcheck | create-agent | …``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from datetime import timedelta

from pydantic import ValidationError

from service import audit
from service.admins import create_admin_token, has_admin_tokens
from service.agents.schemas import AgentCreate
from service.agents.service import create_agent
from service.attachments.storage import DiskStorage
from service.clock import Clock, SystemClock
from service.db.engine import create_database
from service.db.migrate import upgrade
from service.errors import KefuError
from service.privacy.contacts import new_key
from service.privacy.retention import BadAge, parse_age
from service.privacy.service import purge_audited, remove_files
from service.serving import run_server
from service.settings import Settings
from service.tokens import service as tokens
from service.tokens.service import CLI
from service.workers import Workers, WorkersRefused
from service.workers import check as check_workers


async def _with_session(settings: Settings, action: str, **kwargs: str) -> str | None:
    database = create_database(settings.database_url)
    now = SystemClock().now()
    try:
        async with database.sessions() as session, session.begin():
            if action == "admin-token":
                return await create_admin_token(session, kwargs["name"], now)
            if action == "first-admin-token":
                if settings.admin_token or await has_admin_tokens(session):
                    return None
                return await create_admin_token(session, "first start", now)
            data = AgentCreate.model_validate(kwargs)
            agent, token = await create_agent(
                session, data, now=now, default_capacity=settings.default_capacity
            )
            await audit.record(
                session, CLI, now, "agent.create", agent, None, audit.snapshot(agent)
            )
            return f"agent {agent.id} ({agent.name}, 工号 {agent.employee_no}) token: {token}"
    finally:
        await database.dispose()


async def _tokens(settings: Settings, action: str, ident: int | None, **kwargs: str) -> str:
    """``create-token``, ``list-tokens``, ``rotate-token``, ``revoke-token``: as the API's
    /api/v1/tokens does, each change written to the audit log (actor ``cli``)."""
    database = create_database(settings.database_url)
    now = SystemClock().now()
    try:
        async with database.sessions() as session, session.begin():
            if action == "list":
                rows = await tokens.listed(session)
                lines = [
                    f"{row.id}\t{row.role}\t{row.prefix}…\t{row.name}"
                    + (f"\trevoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "")
                    for row in rows
                ]
                return "\n".join(["id\trole\tprefix\tname", *lines])
            if action == "create":
                row, token = await tokens.create(
                    session, kwargs["name"], kwargs["role"], now, "cli"
                )
                after = audit.token_state(row)
                await audit.record(session, CLI, now, "token.create", row, None, after)
                return f"{row.role} token {row.id} ({row.name}): {token}"
            assert ident is not None
            before = audit.token_state(await tokens.get(session, ident))
            if action == "rotate":
                row, token = await tokens.rotate(session, ident, now)
                after = audit.token_state(row)
                await audit.record(session, CLI, now, "token.rotate", row, before, after)
                return f"{row.role} token {row.id} ({row.name}): {token}"
            row = await tokens.revoke(session, ident, now, "cli")
            after = audit.token_state(row)
            if after != before:
                await audit.record(session, CLI, now, "token.revoke", row, before, after)
            return f"{row.role} token {row.id} ({row.name}) revoked"
    finally:
        await database.dispose()


async def _purge(settings: Settings, older_than: timedelta, clock: Clock) -> str:
    """``purge --older-than 180d``: as the daily run does, written to the audit log."""
    database = create_database(settings.database_url)
    try:
        async with database.sessions() as session, session.begin():
            done = await purge_audited(session, CLI, clock.now(), older_than)
    finally:
        await database.dispose()
    await remove_files(DiskStorage(settings.media_dir), done.files)
    return " ".join(f"{key}={value}" for key, value in done.summary().items())


class PortTaken(Exception):
    """``serve`` could not listen where it was told to."""


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed (uvicorn serves on it)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP spelled out: asyncio turns Nagle off only on sockets whose proto says TCP,
    # and accepted sockets inherit it (proto 0 left frames 40 ms apart: tests/support/server).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise PortTaken(
            f"kefu: cannot listen on {host}:{port}: {exc.strerror or exc}"
            " (another server there? set KEFU_PORT or KEFU_HOST)"
        ) from exc
    return sock


def token_box(line: str) -> list[str]:
    """The admin token framed, so it stands out of the start-up log."""
    rule = "  " + "*" * (len(line) + 4)
    return [rule, f"  * {line} *", rule]


def banner(settings: Settings, first_token: str | None, port: int | None = None) -> str:
    base = settings.public_url or f"http://{settings.host}:{port or settings.port}"
    ws = base.replace("http", "ws", 1)
    if settings.admin_token:
        login = ["  admin token     : the value of KEFU_ADMIN_TOKEN"]
    elif first_token:
        login = token_box(f"ADMIN TOKEN (shown once, keep it): {first_token}")
    else:
        login = [
            "  admin token     : printed at first start; make another with",
            "                    .venv/bin/python -m service create-admin-token",
        ]
    return "\n".join(
        [
            "",
            "kefu is serving",
            f"  customer widget : {base}/widget/",
            f"  agent console   : {base}/console/",
            f"  supervisor desk : {base}/dashboard/  (a supervisor or admin token)",
            f"  demo host page  : {base}/demo/"
            + ("  (signs a sample VIP player: KEFU_DEMO)" if settings.demo else ""),
            f"  admin API       : {base}/api/v1  (docs: {base}/docs)",
            f"  sockets         : {ws}/ws/customer , {ws}/ws/agent",
            f"  database        : {settings.database_url.split('@')[-1]}",
            f"  brand           : {settings.brand}  (customers see it in the templates;"
            " set KEFU_BRAND)",
            "  create an agent : .venv/bin/python -m service create-agent 小王 1001",
            "                    (prints the agent's console token once; or POST /api/v1/agents)",
            *login,
            "",
        ]
    )


def serve(settings: Settings, workers: int = 1) -> int:
    check_workers(settings, workers)
    # Bound first: a taken port stops here with one line, before the banner says "serving".
    sock = listen(settings.host, settings.port)
    if settings.migrate:
        upgrade(settings.database_url)
    first_token = asyncio.run(_with_session(settings, "first-admin-token"))
    print(banner(settings, first_token, sock.getsockname()[1]), flush=True)
    if workers > 1:
        return Workers(settings, sock, workers).run()
    run_server(settings, sock)
    return 0


def healthcheck(settings: Settings) -> int:
    """0 when this host's kefu answers /readyz with 200 (the Dockerfile's HEALTHCHECK)."""
    import urllib.error
    import urllib.request

    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    try:
        with urllib.request.urlopen(f"http://{host}:{settings.port}/readyz", timeout=2) as reply:
            return 0 if reply.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve_command = commands.add_parser("serve", help="migrate the database, then serve")
    serve_command.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes on the one port (PostgreSQL and Redis only)",
    )
    commands.add_parser("migrate", help="upgrade the database schema to the newest revision")
    commands.add_parser("healthcheck", help="exit 0 when this host's server is ready")
    agent = commands.add_parser("create-agent", help="create an agent and print its token once")
    agent.add_argument("name")
    agent.add_argument("employee_no")
    agent.add_argument("--capacity", default=None)
    agent.add_argument("--role", choices=["agent", "supervisor"], default="agent")
    token = commands.add_parser("create-admin-token", help="print a new admin API token once")
    token.add_argument("--name", default="cli")
    create = commands.add_parser(
        "create-token", help="print a new admin or supervisor API token once"
    )
    create.add_argument("name", help="who holds it")
    create.add_argument("--role", choices=["admin", "supervisor"], default="supervisor")
    commands.add_parser("list-tokens", help="the API tokens: id, role, prefix, name (no secret)")
    for name, what in (("rotate-token", "print a new secret for"), ("revoke-token", "revoke")):
        one = commands.add_parser(name, help=f"{what} the API token with this id")
        one.add_argument("id", type=int)
    commands.add_parser(
        "data-key", help="print a new key for KEFU_DATA_KEY (it needs no settings)"
    )
    purge = commands.add_parser(
        "purge", help="delete or anonymise closed chats beyond retention (docs/privacy.md)"
    )
    purge.add_argument("--older-than", required=True, help="an age: 180d, 36h")
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
    if args.command == "data-key":
        # Before the settings: PostgreSQL without KEFU_DATA_KEY is refused, and this makes one.
        print(new_key())
        return 0
    try:
        settings = Settings()
    except ValidationError as exc:
        # One line per bad setting, no traceback (e.g. a KEFU_ADMIN_TOKEN too short).
        for error in exc.errors():
            print(f"kefu: {error['msg'].removeprefix('Value error, ')}", file=sys.stderr)
        return 2
    if args.command == "serve":
        try:
            return serve(settings, args.workers)
        except (PortTaken, WorkersRefused) as exc:
            print(exc, file=sys.stderr)
            return 1 if isinstance(exc, PortTaken) else 2
    elif args.command == "migrate":
        upgrade(settings.database_url)
    elif args.command == "healthcheck":
        return healthcheck(settings)
    elif args.command == "create-agent":
        upgrade(settings.database_url)
        fields = {"name": args.name, "employee_no": args.employee_no, "role": args.role}
        if args.capacity:
            fields["capacity"] = args.capacity
        print(asyncio.run(_with_session(settings, "agent", **fields)))
    elif args.command == "purge":
        try:
            older_than = parse_age(args.older_than)
        except BadAge as exc:
            print(f"kefu: {exc}", file=sys.stderr)
            return 2
        upgrade(settings.database_url)
        print(asyncio.run(_purge(settings, older_than, SystemClock())))
    elif args.command == "create-admin-token":
        upgrade(settings.database_url)
        print(asyncio.run(_with_session(settings, "admin-token", name=args.name)))
    else:
        upgrade(settings.database_url)
        action = args.command.split("-")[0]
        fields = {"name": args.name, "role": args.role} if action == "create" else {}
        try:
            print(asyncio.run(_tokens(settings, action, getattr(args, "id", None), **fields)))
        except KefuError as exc:
            print(f"kefu: {exc.message}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

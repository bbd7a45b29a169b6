"""A PostgreSQL cluster of the test's own: ``initdb`` under a temp dir, its own loopback port.

Fault tests stop it (fast shutdown, by its pid) and start it again under running kefu
processes; the machine's shared server is never touched.
"""

from __future__ import annotations

import asyncio
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.support.redis_server import free_port


def bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` live: ``pg_config --bindir``, else the Debian layout."""
    candidates = []
    if (pg_config := shutil.which("pg_config")) is not None:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True)
        candidates.append(found.stdout.strip())
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def _has_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


class PostgresProcess:
    def __init__(self) -> None:
        found = bindir()
        message = None
        if found is None:
            message = "PostgreSQL's initdb is not installed"
        elif os.geteuid() == 0 and not _has_account("postgres"):
            message = "PostgreSQL refuses root, and there is no postgres account to run it as"
        if message is not None:
            if os.environ.get("CI") == "true":
                pytest.fail(message)
            pytest.skip(message)
        assert found is not None
        self.bin = found
        # A directory of its own, outside pytest's (which only its owner may enter): PostgreSQL
        # refuses to run as root, so under root it runs as the ``postgres`` account, which must
        # own this directory. setpriv execs, so the pid stays the postmaster's.
        self.directory = Path(tempfile.mkdtemp(prefix="kefu-pg-"))
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
            self.as_user = [
                *("setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}"),
                "--clear-groups",
            ]
        self.data = self.directory / "pgdata"
        self.socket_dir = self.directory / "pgsock"
        self.log = self.directory / "postgres.log"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/{database}"

    def init(self) -> None:
        subprocess.run(
            [*self.as_user, "mkdir", str(self.socket_dir)], check=True, capture_output=True
        )
        subprocess.run(
            [
                *self.as_user,
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-U", "postgres", "-A", "trust"),
                *("-E", "UTF8", "--locale=C", "--no-sync"),
            ],
            check=True,
            capture_output=True,
        )

    def start(self, timeout: float = 20.0) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    *self.as_user,
                    str(self.bin / "postgres"),
                    *("-D", str(self.data), "-p", str(self.port)),
                    *("-c", "listen_addresses=127.0.0.1"),
                    *("-c", f"unix_socket_directories={self.socket_dir}"),
                    # Small and quick: one test's load; a fast shutdown still writes every
                    # commit out (its checkpoint), so nothing acknowledged depends on fsync.
                    *("-c", "fsync=off", "-c", "shared_buffers=16MB", "-c", "max_connections=60"),
                ],
                stdout=out,
                stderr=out,
            )
        deadline = time.monotonic() + timeout
        while not asyncio.run(self._answers()):
            assert self.process.poll() is None, f"postgres exited at start: {self.log}"
            assert time.monotonic() < deadline, "postgres did not answer"
            time.sleep(0.05)

    async def _answers(self) -> bool:
        try:
            connection = await asyncpg.connect(
                host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=1
            )
        except (OSError, asyncpg.PostgresError, TimeoutError):
            return False
        await connection.close()
        return True

    async def create_database(self, name: str) -> str:
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres", timeout=5
        )
        try:
            await connection.execute(f'CREATE DATABASE "{name}"')
        finally:
            await connection.close()
        return self.url(name)

    def stop(self, timeout: float = 20.0) -> None:
        """Fast shutdown (SIGINT to the postmaster): open transactions are rolled back, every
        client is disconnected, committed work is checkpointed; returns once it has exited."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

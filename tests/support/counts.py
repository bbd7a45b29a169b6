"""Socket counts read from the database by the presence tests, the wrong readings kept."""

from __future__ import annotations

import asyncio
import time

from sqlalchemy import select

from service.db.models import Agent, Chat
from tests.support.server import TIMEOUT, Server


class Counts:
    """Reads a count from the database and keeps the readings that were wrong."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.wrong: list[tuple[str, int, int]] = []

    async def agent(self, agent_id: int) -> int:
        rows = await self.server.rows(select(Agent.connections).where(Agent.id == agent_id))
        return rows[0]

    async def customer(self, chat_id: int) -> int:
        rows = await self.server.rows(select(Chat.customer_sockets).where(Chat.id == chat_id))
        return rows[0]

    async def settles(self, name: str, read: int, want: int, floor: int) -> None:
        """``read`` reaches ``want`` (a socket's close is written after it closes)."""
        deadline, told = time.monotonic() + TIMEOUT, False
        while True:
            count = await (self.agent(read) if name == "agent" else self.customer(read))
            if count == want:
                return
            if (count < floor or count > want + 1) and not told:
                self.wrong.append((name, read, count))  # once per step
                told = True
            if time.monotonic() > deadline:
                self.wrong.append((f"{name} stuck", read, count))
                return
            await asyncio.sleep(0.005)

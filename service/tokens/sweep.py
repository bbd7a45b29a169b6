"""Agent sockets whose sign-in no longer stands, found from the database and closed.

An admin who disables an agent, replaces or revokes their token sends ``signed_out`` over the
bus, which closes the agent's sockets on every process at once. While the bus (Redis) is
away that frame reaches only the process that sent it, so every process also compares, each
``KEFU_SIGN_IN_CHECK_S``, the agents it holds sockets for with their rows: a socket whose
agent is disabled, or whose token is not the agent's token any more, gets the same
``signed_out`` and closes with 4403. One query by primary key per pass, none without sockets.
While the bus is up its frame is given one pass to arrive first (it says the precise reason,
``token_replaced`` or ``token_revoked``); a socket still open then is closed by the sweep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy import select

from service.db.models import Agent
from service.db.unit_of_work import Units
from service.realtime.events import SignedOut
from service.realtime.hub import Connection, Hub

log = logging.getLogger(__name__)


class SignInSweep:
    def __init__(
        self, units: Units, hub: Hub, interval_s: float, bus_up: Callable[[], bool]
    ) -> None:
        self.units = units
        self.hub = hub
        self.interval_s = interval_s
        self._bus_up = bus_up
        self._suspects: set[Connection] = set()  # found out last pass while the bus was up

    async def run(self) -> None:
        """Owned by the app's supervisor."""
        while True:
            await asyncio.sleep(self.interval_s)
            await self.sweep()

    async def sweep(self) -> int:
        """One pass: how many sockets were signed out."""
        held = self.hub.sockets_of("agent")
        ids = {int(address.partition(":")[2]): address for address in held}
        suspects, self._suspects = self._suspects, set()
        if not ids:
            return 0
        bus_up = self._bus_up()
        async with self.units.read() as session:
            rows = await session.execute(
                select(Agent.id, Agent.token_hash, Agent.active).where(Agent.id.in_(ids))
            )
            standing = {ident: (token_hash, active) for ident, token_hash, active in rows}
        signed_out = 0
        for agent_id, address in ids.items():
            token_hash, active = standing.get(agent_id, (None, False))
            for connection in held[address]:
                if connection.closing or connection.credential is None:
                    continue
                if not active:
                    reason = "disabled"
                elif connection.credential != token_hash:
                    reason = "token_revoked"  # replaced or revoked: this one works no more
                else:
                    continue
                if bus_up and connection not in suspects:
                    self._suspects.add(connection)  # the bus's frame may be on its way
                    continue
                log.info("socket.signed_out_by_sweep agent=%s reason=%s", agent_id, reason)
                connection.offer(SignedOut(reason).frame())
                signed_out += 1
        return signed_out

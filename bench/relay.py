"""The floor: a bare relay on kefu's stack (uvicorn + Starlette WebSocket, same flags, same JSON
envelope) that stores nothing.

It speaks just enough of contract v1 for the load generator: ``hello`` → ``ready`` (+ welcome
and ``assigned`` for a new chat, chats handed to agents in turn), ``message`` → ``ack`` to the
sender and the ``message`` frame to both sides, sequence numbers kept in memory. Whatever kefu
costs above this is the price of persistence, routing and delivery guarantees.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


def dumps(frame: dict[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class RelayChat:
    id: int
    token: str
    customers: list[WebSocket] = field(default_factory=list)
    agent: WebSocket | None = None
    agent_id: int | None = None
    seq: int = 0


class Relay:
    def __init__(self) -> None:
        self.chats: dict[int, RelayChat] = {}
        self.by_token: dict[str, RelayChat] = {}
        self.agents: list[tuple[int, WebSocket]] = []
        self.ids = itertools.count(1)
        self.chat_ids = itertools.count(1)
        self.agent_ids = itertools.count(1)
        self.turn = itertools.count()

    async def deliver(self, chat: RelayChat, frame: dict[str, Any]) -> None:
        text = dumps(frame)
        for customer in chat.customers:
            await customer.send_text(text)
        if chat.agent is not None:
            await chat.agent.send_text(text)

    async def store(
        self, chat: RelayChat, sender: str, text: str, client_id: str | None, **extra: Any
    ) -> int:
        chat.seq += 1
        frame = {
            "type": "message",
            "chat_id": chat.id,
            "seq": chat.seq,
            "id": next(self.ids),
            "sender": sender,
            "text": text,
            "at": now(),
            **extra,
        }
        if client_id is not None:
            frame["client_id"] = client_id
        await self.deliver(chat, frame)
        return chat.seq

    async def customer(self, websocket: WebSocket) -> None:
        await websocket.accept()
        hello = json.loads(await websocket.receive_text())
        resume = hello.get("resume")
        if resume:
            chat = self.by_token[resume["token"]]
            chat.customers.append(websocket)
            await websocket.send_text(
                dumps(
                    {
                        "type": "ready",
                        "chat_id": chat.id,
                        "resume_token": chat.token,
                        "seq": chat.seq,
                        "status": "assigned",
                    }
                )
            )
        else:
            chat_id = next(self.chat_ids)
            chat = RelayChat(chat_id, f"kfr_relay{chat_id}", [websocket])
            self.chats[chat_id], self.by_token[chat.token] = chat, chat
            await websocket.send_text(
                dumps(
                    {
                        "type": "ready",
                        "chat_id": chat_id,
                        "resume_token": chat.token,
                        "seq": 0,
                        "status": "queued",
                        "position": 1,
                    }
                )
            )
            await self.store(chat, "system", "welcome", None, template="welcome")
            await self.assign(chat)
        try:
            while True:
                data = json.loads(await websocket.receive_text())
                if data.get("type") != "message":
                    continue
                seq = await self.store(chat, "customer", data["text"], data["client_id"])
                await websocket.send_text(
                    dumps({"type": "ack", "client_id": data["client_id"], "seq": seq})
                )
        except WebSocketDisconnect:
            chat.customers.remove(websocket)

    async def assign(self, chat: RelayChat) -> None:
        if not self.agents:
            return
        agent_id, agent = self.agents[next(self.turn) % len(self.agents)]
        chat.agent, chat.agent_id = agent, agent_id
        card = {"name": f"agent{agent_id}", "employee_no": str(agent_id)}
        for customer in chat.customers:
            await customer.send_text(dumps({"type": "assigned", "chat_id": chat.id, "agent": card}))
        await agent.send_text(
            dumps(
                {
                    "type": "assigned",
                    "chat_id": chat.id,
                    "status": "assigned",
                    "customer": {"id": chat.id, "guest": True},
                    "last_seq": chat.seq,
                    "locale": "zh-CN",
                    "history": [],
                }
            )
        )

    async def agent(self, websocket: WebSocket) -> None:
        await websocket.accept()
        json.loads(await websocket.receive_text())
        agent_id = next(self.agent_ids)
        entry = (agent_id, websocket)
        self.agents.append(entry)
        await websocket.send_text(
            dumps(
                {
                    "type": "ready",
                    "agent": {
                        "id": agent_id,
                        "name": f"agent{agent_id}",
                        "employee_no": str(agent_id),
                        "role": "agent",
                        "status": "online",
                        "capacity": 5,
                    },
                    "chats": [],
                }
            )
        )
        card = {"name": f"agent{agent_id}", "employee_no": str(agent_id)}
        try:
            while True:
                data = json.loads(await websocket.receive_text())
                if data.get("type") != "message":
                    continue
                chat = self.chats[data["chat_id"]]
                seq = await self.store(chat, "agent", data["text"], data["client_id"], agent=card)
                await websocket.send_text(
                    dumps(
                        {
                            "type": "ack",
                            "chat_id": chat.id,
                            "client_id": data["client_id"],
                            "seq": seq,
                        }
                    )
                )
        except WebSocketDisconnect:
            self.agents.remove(entry)


async def healthz(_request: Any) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"status": "ok"})


def create_relay() -> Starlette:
    relay = Relay()
    return Starlette(
        routes=[
            Route("/healthz", healthz),
            WebSocketRoute("/ws/customer", relay.customer),
            WebSocketRoute("/ws/agent", relay.agent),
        ]
    )

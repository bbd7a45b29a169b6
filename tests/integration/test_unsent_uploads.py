"""Unsent uploads (S-privacy; docs/protocol.md, "Attachments"): a file uploaded but never sent
in a message is deleted, row and file, KEFU_UNSENT_UPLOAD_TTL_H after its upload, on the injected
clock; a sent one stays, and a younger unsent one waits its turn. An upload whose body arrives
too slowly is cut off (408) and stores nothing."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select

from service.attachments.unsent import KIND
from service.clock import ManualClock
from service.db.models import Attachment, Timer
from tests.integration.test_attachments import png, served, stored_files, upload
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import TIMEOUT, Server, running_server, test_settings

HOUR = 3600.0


async def uploaded(server: Server, token: str, chat_id: int) -> dict[str, Any]:
    response = await upload(server, token, chat_id, png())
    assert response.status_code == 201, response.text
    card: dict[str, Any] = response.json()
    return card


async def kept(server: Server) -> list[int]:
    return await server.rows(select(Attachment.id).order_by(Attachment.id))


async def test_an_upload_never_sent_is_deleted_after_the_bound_with_its_file(
    server: Server,
) -> None:
    assert server.runtime.settings.unsent_upload_ttl_h == 24
    customer, agent = await served(server)
    sent = await uploaded(server, customer.token, customer.chat_id)
    await customer.send(
        {"type": "message", "client_id": "m-1", "text": "截图", "attachments": [sent["id"]]}
    )
    await customer.until("ack", client_id="m-1")
    abandoned = await uploaded(server, customer.token, customer.chat_id)
    agents_draft = await uploaded(server, agent.info["token"], customer.chat_id)
    server.clock.advance(20 * HOUR)
    later = await server.customer()
    await agent.until("assigned", chat_id=later.chat_id)
    young = await uploaded(server, later.token, later.chat_id)
    assert len(stored_files(server)) == 4

    # 23 hours after the first uploads: nothing is old enough yet.
    await server.advance(3 * HOUR)
    assert await kept(server) == [sent["id"], abandoned["id"], agents_draft["id"], young["id"]]

    # Past 24 h: the two unsent ones go, row and file; the sent one and the young one stay.
    await server.advance(2 * HOUR)
    assert await kept(server) == [sent["id"], young["id"]]
    assert len(stored_files(server)) == 2
    served_file = await server.http.get(
        f"/media/chats/{customer.chat_id}", headers={"Authorization": f"Bearer {customer.token}"}
    )
    assert [item["id"] for item in served_file.json()["items"]] == [sent["id"]]

    # The young one's turn comes 24 h after its own upload.
    await server.advance(20 * HOUR)
    assert await kept(server) == [sent["id"]]
    assert len(stored_files(server)) == 1
    # Nothing unsent is left: no timer waits for it.
    assert await server.rows(select(Timer.key).where(Timer.key == KIND)) == []


async def test_a_message_naming_a_swept_upload_is_refused_and_stores_nothing(
    server: Server,
) -> None:
    customer, agent = await served(server)
    abandoned = await uploaded(server, customer.token, customer.chat_id)
    # Keep the chat open across the day: the customer and the agent keep talking.
    for _ in range(25):
        await customer.say("还在吗")
        await agent.say(customer.chat_id, "在的")
        await server.advance(HOUR)
    assert await kept(server) == []
    await customer.send(
        {"type": "message", "client_id": "late", "text": "图", "attachments": [abandoned["id"]]}
    )
    error = await customer.until("error", ref="late")
    assert error["code"] == "unknown_attachment"
    assert await kept(server) == []


async def test_an_upload_sent_too_slowly_is_cut_off_408_and_stores_nothing(
    backend: SqliteTemplate | PostgresTemplate, database_url: str
) -> None:
    settings = test_settings(database_url, upload_timeout_s=0.3)
    async with running_server(settings, ManualClock()) as server:
        customer = await server.customer()
        host, port = server.url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        # A PNG's first bytes of an announced 100 kB, and then nothing.
        writer.write(
            (
                f"POST /media/chats/{customer.chat_id} HTTP/1.1\r\nHost: {host}\r\n"
                f"Authorization: Bearer {customer.token}\r\nContent-Length: 100000\r\n\r\n"
            ).encode()
            + png()[:40]
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
        assert head.startswith(b"HTTP/1.1 408"), head
        assert b"application/problem+json" in head
        writer.close()
        assert await kept(server) == []
        assert stored_files(server) == []
        # A file that arrives in time is taken as before.
        assert (await upload(server, customer.token, customer.chat_id, png())).status_code == 201

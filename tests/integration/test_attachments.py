"""Attachments: uploads with the socket's credentials, messages that carry them, signed links.

S-privacy: a chat's files reach its customer, its agents and supervisors only; a bad upload
gets a typed error and leaves nothing behind, neither a row nor a file.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import func, select

from service.db.models import Attachment, Message
from tests.support.server import Agent, Customer, Server


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"max_upload_mb": 0.25, "media_url_ttl_s": 60}


def png(width: int = 64, height: int = 48, *, text: str | None = None) -> bytes:
    image = Image.new("RGB", (width, height), (200, 40, 40))
    info = PngImagePlugin.PngInfo()
    if text is not None:
        info.add_text("Comment", text)
        info.add_itxt("XML:com.adobe.xmp", f"<x:xmpmeta>{text}</x:xmpmeta>")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (80, 40), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° to stand upright
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0)}  # GPSInfo
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


async def served(server: Server) -> tuple[Customer, Agent]:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    return customer, agent


async def upload(
    server: Server, token: str | None, chat_id: int, data: bytes, name: str = "shot.png"
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        return await http.post(f"/media/chats/{chat_id}", params={"name": name}, content=data)


async def get(server: Server, url: str, token: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        return await http.get(url)


def stored_files(server: Server) -> list[Path]:
    root = server.runtime.settings.media_dir
    return [path for path in root.rglob("*") if path.is_file()]


async def attachment_rows(server: Server) -> int:
    [count] = await server.rows(select(func.count()).select_from(Attachment))
    return int(count)


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


async def test_customer_sends_a_screenshot_and_the_agent_sees_it(server: Server) -> None:
    customer, agent = await served(server)
    original = png(text="secret location")
    uploaded = await upload(server, customer.token, customer.chat_id, original, "截图.jpg")
    assert uploaded.status_code == 201, uploaded.text
    card = uploaded.json()
    # The type comes from the bytes, and the name says so.
    assert card["content_type"] == "image/png"
    assert card["name"] == "截图.png"
    assert (card["width"], card["height"]) == (64, 48)

    await customer.send(
        {"type": "message", "client_id": "m-1", "text": "充值失败", "attachments": [card["id"]]}
    )
    ack = await customer.until("ack", client_id="m-1")
    seen = await agent.until("message", seq=ack["seq"])
    assert seen["attachments"] == [
        {
            "id": card["id"],
            "content_type": "image/png",
            "name": "截图.png",
            "size": card["size"],
            "width": 64,
            "height": 48,
        }
    ]

    listed = await get(server, f"/media/chats/{customer.chat_id}", agent.info["token"])
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == card["id"] and item["seq"] == ack["seq"]
    served_file = await get(server, item["url"])
    assert served_file.status_code == 200
    assert served_file.headers["content-type"] == "image/png"
    assert served_file.headers["content-disposition"].startswith("inline")
    # S-privacy: the metadata the customer's device wrote is gone.
    image = Image.open(io.BytesIO(served_file.content))
    assert image.size == (64, 48)
    assert "Comment" not in image.info and "XML:com.adobe.xmp" not in image.info
    assert b"secret location" not in served_file.content
    assert b"secret location" in original


async def test_jpeg_loses_its_exif_and_stands_upright(server: Server) -> None:
    customer, _agent = await served(server)
    original = jpeg_with_gps()
    assert b"PhoneMaker" in original
    response = await upload(server, customer.token, customer.chat_id, original, "photo.jpeg")
    assert response.status_code == 201, response.text
    card = response.json()
    # Orientation 6 applied before the EXIF went: 80×40 stored as 40×80.
    assert (card["content_type"], card["width"], card["height"]) == ("image/jpeg", 40, 80)
    data = (await get(server, card["url"])).content
    assert b"PhoneMaker" not in data
    assert len(Image.open(io.BytesIO(data)).getexif()) == 0


async def test_agent_sends_a_pdf_and_the_customer_gets_it(server: Server) -> None:
    customer, agent = await served(server)
    response = await upload(server, agent.info["token"], customer.chat_id, PDF, "receipt")
    assert response.status_code == 201, response.text
    card = response.json()
    assert (card["content_type"], card["name"], card["width"]) == (
        "application/pdf",
        "receipt.pdf",
        None,
    )
    await agent.send(
        {
            "type": "message",
            "chat_id": customer.chat_id,
            "client_id": "a-1",
            "text": "",
            "attachments": [card["id"]],
        }
    )
    ack = await agent.until("ack", client_id="a-1")
    message = await customer.until("message", seq=ack["seq"])
    assert message["text"] == ""
    assert [a["id"] for a in message["attachments"]] == [card["id"]]
    [item] = (await get(server, f"/media/chats/{customer.chat_id}", customer.token)).json()["items"]
    served_file = await get(server, item["url"])
    assert served_file.content == PDF
    assert served_file.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in served_file.headers["content-security-policy"]

    # The admin transcript shows the file, with a link.
    detail = (await server.http.get(f"/api/v1/chats/{customer.chat_id}")).json()
    [line] = [m for m in detail["messages"] if m["seq"] == ack["seq"]]
    [shown] = line["attachments"]
    assert shown["id"] == card["id"] and (await get(server, shown["url"])).content == PDF


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"x" * (256 * 1024 + 1), 413, "upload_too_large"),
        (b"GIF89a" + b"\0" * 64, 415, "unsupported_media"),
        (b"#!/bin/sh\nrm -rf /\n", 415, "unsupported_media"),
        (b"\x89PNG\r\n\x1a\n" + b"not really a png" * 8, 422, "bad_upload"),
        (b"\xff\xd8\xff\xe0" + b"\0" * 32, 422, "bad_upload"),
        (b"%PDF-1.4 cut short", 422, "bad_upload"),
        (b"", 422, "bad_upload"),
    ],
    ids=["too_big", "gif", "script", "fake_png", "fake_jpeg", "cut_pdf", "empty"],
)
async def test_bad_uploads_are_refused_and_store_nothing(
    server: Server, data: bytes, status: int, code: str
) -> None:
    customer, _agent = await served(server)
    problem(await upload(server, customer.token, customer.chat_id, data), status, code)
    assert await attachment_rows(server) == 0
    assert stored_files(server) == []


async def test_uploads_need_the_chats_own_credentials(server: Server) -> None:
    customer, agent = await served(server)
    stranger = await server.customer()
    colleague = await server.agent("小李", status="away")
    image = png()
    problem(await upload(server, None, customer.chat_id, image), 401, "unauthorized")
    problem(await upload(server, "kfr_forged", customer.chat_id, image), 401, "unauthorized")
    # S-privacy: another chat's customer, an agent who does not hold it: as if it did not exist.
    problem(await upload(server, stranger.token, customer.chat_id, image), 404, "not_your_chat")
    problem(
        await upload(server, colleague.info["token"], customer.chat_id, image),
        404,
        "not_your_chat",
    )
    problem(await upload(server, customer.token, 999_999, image), 404, "not_your_chat")
    assert await attachment_rows(server) == 0
    assert stored_files(server) == []
    del agent


async def test_files_are_shown_only_to_the_chats_people(server: Server) -> None:
    customer, agent = await served(server)
    card = (await upload(server, customer.token, customer.chat_id, png())).json()
    await customer.send(
        {"type": "message", "client_id": "m", "text": "", "attachments": [card["id"]]}
    )
    await customer.until("ack", client_id="m")
    stranger = await server.customer()
    colleague = await server.agent("小李", status="away")
    supervisor = await server.supervisor()
    path = f"/media/chats/{customer.chat_id}"
    for token in (stranger.token, colleague.info["token"]):
        problem(await get(server, path, token), 404, "not_your_chat")
    for token in (
        customer.token,
        agent.info["token"],
        supervisor.info["token"],
        "test-admin-token",
    ):
        response = await get(server, path, token)
        assert response.status_code == 200, response.text
        assert [item["id"] for item in response.json()["items"]] == [card["id"]]


async def test_forged_and_expired_links_are_refused(server: Server) -> None:
    customer, _agent = await served(server)
    card = (await upload(server, customer.token, customer.chat_id, png())).json()
    other = (await upload(server, customer.token, customer.chat_id, png(10, 10))).json()
    url = httpx.URL(card["url"])
    exp, sig = url.params["exp"], url.params["sig"]
    assert (await get(server, card["url"])).status_code == 200

    problem(
        await get(server, f"/media/files/{card['id']}?exp={exp}&sig={'0' * 64}"), 403, "bad_link"
    )
    # A signature is for one file and one expiry.
    problem(await get(server, f"/media/files/{other['id']}?exp={exp}&sig={sig}"), 403, "bad_link")
    later = int(exp) + 3600
    problem(await get(server, f"/media/files/{card['id']}?exp={later}&sig={sig}"), 403, "bad_link")

    server.clock.advance(200)  # past KEFU_MEDIA_URL_TTL_S (60 s, rounded up to the minute)
    problem(await get(server, card["url"]), 410, "link_expired")
    fresh = (await get(server, card["url"].split("?")[0])).status_code
    assert fresh == 422  # no signature at all: the query is invalid


async def test_a_message_carries_only_its_senders_unsent_uploads(server: Server) -> None:
    customer, agent = await served(server)
    mine = (await upload(server, customer.token, customer.chat_id, png())).json()
    theirs = (await upload(server, agent.info["token"], customer.chat_id, png())).json()
    other_chat = await server.customer()
    elsewhere = (await upload(server, other_chat.token, other_chat.chat_id, png())).json()
    [before] = await server.rows(select(func.count()).select_from(Message))

    for ids in ([theirs["id"]], [elsewhere["id"]], [999_999], [mine["id"], theirs["id"]]):
        await customer.send(
            {"type": "message", "client_id": f"m{ids}", "text": "看图", "attachments": ids}
        )
        error = await customer.until("error")
        assert error["code"] == "unknown_attachment", error
    [after] = await server.rows(select(func.count()).select_from(Message))
    assert after == before

    await customer.send(
        {"type": "message", "client_id": "ok", "text": "", "attachments": [mine["id"]]}
    )
    await customer.until("ack", client_id="ok")
    # Sent once: it cannot be sent again in another message.
    await customer.send(
        {"type": "message", "client_id": "again", "text": "x", "attachments": [mine["id"]]}
    )
    assert (await customer.until("error"))["code"] == "unknown_attachment"


async def test_a_message_needs_a_text_or_attachments(server: Server) -> None:
    customer, _agent = await served(server)
    await customer.send({"type": "message", "client_id": "m", "text": ""})
    assert (await customer.until("error"))["code"] == "bad_frame"
    await customer.send({"type": "message", "client_id": "m", "attachments": []})
    assert (await customer.until("error"))["code"] == "bad_frame"


async def test_a_chunked_upload_is_cut_off_at_the_limit(server: Server) -> None:
    customer, _agent = await served(server)

    async def body() -> AsyncIterator[bytes]:
        yield png()
        for _ in range(64):  # 64 × 8 KB, past the 256 KB limit; no Content-Length says so
            yield b"\0" * 8192

    headers = {"Authorization": f"Bearer {customer.token}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        response = await http.post(f"/media/chats/{customer.chat_id}", content=body())
    problem(response, 413, "upload_too_large")
    assert await attachment_rows(server) == 0
    assert stored_files(server) == []


async def test_no_uploads_to_a_closed_chat(server: Server) -> None:
    customer, _agent = await served(server)
    await customer.send({"type": "close"})
    await customer.until("closed")
    problem(await upload(server, customer.token, customer.chat_id, png()), 409, "invalid_state")
    assert await attachment_rows(server) == 0


async def test_a_link_signed_by_one_process_is_good_on_another(
    server_pair: tuple[Server, Server],
) -> None:
    """Without KEFU_MEDIA_SECRET the processes share the key the first one kept in the database."""
    one, two = server_pair
    customer = await one.customer()
    card = (await upload(one, customer.token, customer.chat_id, png())).json()
    response = await get(two, card["url"])
    assert response.status_code == 200, response.text
    assert Image.open(io.BytesIO(response.content)).size == (64, 48)


async def test_a_closed_chats_files_follow_its_resume_ttl(server: Server) -> None:
    # KEFU_RESUME_TTL_H holds for the chat's files as for its socket: a token that can no longer
    # resume the chat can no longer read its files either.
    customer, _agent = await served(server)
    await upload(server, customer.token, customer.chat_id, png())
    await customer.send({"type": "close"})
    await customer.until("closed")
    path = f"/media/chats/{customer.chat_id}"
    server.clock.advance(server.runtime.settings.resume_ttl_h * 3600 - 1)
    assert (await get(server, path, customer.token)).status_code == 200
    server.clock.advance(2)
    body = problem(await get(server, path, customer.token), 401, "unauthorized")
    assert body["detail"] == "resume token has expired"

"""Retention (docs/privacy.md): closed chats beyond it are purged, on the injected clock;
complaint records stay (S-record); what went is written to the audit log."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.clock import ManualClock
from service.complaints.models import Complaint
from service.db.models import Attachment, Chat, Customer, Message
from service.privacy.service import purge_audited, remove_files
from service.tokens.service import CLI
from tests.integration.test_attachments import png, stored_files, upload
from tests.support.complaints import complain, rows, walk
from tests.support.databases import PostgresTemplate, SqliteTemplate
from tests.support.server import Server, running_server, test_settings

DAY = 86400.0


async def closed_chat(server: Server, text: str) -> int:
    customer = await server.customer(player=server.player(f"p-{text}"))
    await customer.say(text)
    uploaded = await upload(server, customer.token, customer.chat_id, png(), "截图.png")
    assert uploaded.status_code == 201, uploaded.text
    closed = await server.http.post(f"/api/v1/chats/{customer.chat_id}/close")
    assert closed.status_code == 200, closed.text
    await customer.close()
    return customer.chat_id


async def count(server: Server, model: type, chat_id: int) -> int:
    [n] = await server.rows(select(func.count()).select_from(model).where(model.chat_id == chat_id))  # type: ignore[attr-defined]
    return int(n)


async def purge(server: Server, days: int = 180) -> dict[str, object]:
    async with server.runtime.units() as work:
        done = await purge_audited(work.session, CLI, work.now, timedelta(days=days))
    await remove_files(server.runtime.attachments.storage, done.files)
    return done.summary()


async def test_old_closed_chats_go_with_their_files_and_customers(server: Server) -> None:
    old = await closed_chat(server, "手机13800138000")
    complained = await server.customer(player=server.player("p-complaint"))
    await complained.send({"type": "complain", "topic": "recharge", "text": "充值没到账"})
    await complained.until("message", template="complaint_ack")
    await server.http.post(f"/api/v1/chats/{complained.chat_id}/close")
    files = len(stored_files(server))
    server.clock.advance(100 * DAY)
    recent = await closed_chat(server, "最近的")
    server.clock.advance(81 * DAY)  # old: 181 days closed; recent: 81

    done = await purge(server)
    assert (done["chats"], done["customers"], done["attachments"]) == (1, 1, 1)
    assert await server.rows(select(Chat.id).where(Chat.id == old)) == []
    assert await count(server, Message, old) == 0 and await count(server, Attachment, old) == 0
    assert len(stored_files(server)) == files  # the old file gone, the recent one there
    assert (
        await server.rows(select(Customer.id).where(Customer.player_id == "p-手机13800138000"))
        == []
    )
    # Kept: the recent chat, and the complaint still being worked with its chat (S-record).
    assert await count(server, Message, recent) > 0
    assert await count(server, Complaint, complained.chat_id) == 1
    assert await count(server, Message, complained.chat_id) > 0

    audit = (await server.http.get("/api/v1/audit", params={"action": "privacy.purge"})).json()
    [row] = audit["items"]
    assert (row["actor"], row["target_type"]) == ("cli", "retention")
    assert row["after"]["chats"] == 1 and row["after"]["customers"] == 1
    # Nothing is left to purge: a second run finds nothing and writes no row.
    assert (await purge(server))["chats"] == 0
    again = (await server.http.get("/api/v1/audit", params={"action": "privacy.purge"})).json()
    assert again["total"] == 1


async def test_the_daily_purge_runs_with_retention_days_set(
    backend: SqliteTemplate | PostgresTemplate, database_url: str
) -> None:
    clock = ManualClock()
    settings = test_settings(database_url, retention_days=30)
    async with running_server(settings, clock) as server:
        old = await closed_chat(server, "旧对话")
        await server.advance(29 * DAY)
        assert await server.rows(select(Chat.id).where(Chat.id == old)) == [old]
        await server.advance(2 * DAY)
        assert await server.rows(select(Chat.id).where(Chat.id == old)) == []
        audit = (await server.http.get("/api/v1/audit", params={"action": "privacy"})).json()
        assert [row["actor"] for row in audit["items"]] == ["retention"]


async def test_a_finished_complaints_chat_is_anonymised_not_deleted(server: Server) -> None:
    agent = await server.agent()
    customer = await complain(server, text="充值没到账")
    await customer.say("回电13800138000")
    [row] = await rows(server, chat_id=customer.chat_id)
    await walk(server, row["id"], "closed", agent.info["agent"]["id"])
    await server.http.post(f"/api/v1/chats/{customer.chat_id}/close")
    server.clock.advance(181 * DAY)

    done = await purge(server)
    assert (done["chats"], done["anonymised_chats"]) == (0, 1)
    texts = await server.rows(select(Message.text).where(Message.chat_id == customer.chat_id))
    assert "回电138****8000" in texts and not any("13800138000" in t for t in texts)
    assert await count(server, Complaint, customer.chat_id) == 1  # S-record: the row is filed
    # Masked text has nothing left to mask: the next run changes nothing and writes no row.
    assert (await purge(server))["anonymised_messages"] == 0

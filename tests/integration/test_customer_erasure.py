"""S-privacy: a customer's data exported and erased on request, by admins only, audited;
complaint records stay, masked (S-record)."""

from __future__ import annotations

from sqlalchemy import func, select

from service.complaints.models import Complaint
from service.db.models import Chat, Customer, Message
from tests.integration.test_attachments import png, stored_files, upload
from tests.integration.test_pii_masking import bearer
from tests.support.server import Server

PHONE = "13800138000"


async def customer_with_history(server: Server) -> tuple[int, int, int]:
    """A player with a plain chat (and a file) and a complaint chat, both closed."""
    plain = await server.customer(player=server.player("p-erase"))
    await plain.say(f"我的手机{PHONE}")
    assert (await upload(server, plain.token, plain.chat_id, png())).status_code == 201
    await server.http.post(f"/api/v1/chats/{plain.chat_id}/close")
    await plain.close()
    complained = await server.customer(player=server.player("p-erase"))
    await complained.send({"type": "complain", "topic": "recharge", "text": f"回电{PHONE}"})
    await complained.until("message", template="complaint_ack")
    await server.http.post(f"/api/v1/chats/{complained.chat_id}/close")
    await complained.close()
    [customer_id] = await server.rows(select(Customer.id).where(Customer.player_id == "p-erase"))
    return customer_id, plain.chat_id, complained.chat_id


async def test_an_admin_exports_a_customers_data(server: Server) -> None:
    customer_id, plain, complained = await customer_with_history(server)
    path = f"/api/v1/customers/{customer_id}/export"
    for role in ("supervisor",):
        refused = await server.http.get(path, headers=await bearer(server, role))
        assert refused.status_code == 403
    reply = await server.http.get(path)
    assert reply.status_code == 200
    data = reply.json()
    assert data["customer"]["player_id"] == "p-erase"
    assert [chat["id"] for chat in data["chats"]] == [plain, complained]
    assert any(PHONE in m["text"] for m in data["chats"][0]["messages"])
    assert len(data["complaints"]) == 1
    assert "resume_token_hash" not in data["chats"][0]
    audit = (await server.http.get("/api/v1/audit", params={"action": "customer.export"})).json()
    assert [row["target_id"] for row in audit["items"]] == [str(customer_id)]
    missing = await server.http.get("/api/v1/customers/999999/export")
    assert missing.status_code == 404


async def test_an_admin_erases_a_customer_and_the_complaint_record_stays(server: Server) -> None:
    customer_id, plain, complained = await customer_with_history(server)
    files = len(stored_files(server))
    path = f"/api/v1/customers/{customer_id}/erase"
    refused = await server.http.post(path, headers=await bearer(server, "supervisor"))
    assert refused.status_code == 403
    reply = await server.http.post(path)
    assert reply.status_code == 200, reply.text
    assert reply.json()["chats"] == 1 and reply.json()["attachments"] == 1
    assert len(stored_files(server)) == files - 1
    assert await server.rows(select(Chat.id).where(Chat.id == plain)) == []
    [messages] = await server.rows(
        select(func.count()).select_from(Message).where(Message.chat_id.in_([plain, complained]))
    )
    assert messages == 0
    # S-record: the complaint stays, its words masked, its customer no longer named.
    [complaint] = await server.rows(select(Complaint).where(Complaint.chat_id == complained))
    assert PHONE not in complaint.summary and "138****8000" in complaint.summary
    [customer] = await server.rows(select(Customer).where(Customer.id == customer_id))
    assert (customer.player_id, customer.name) == (None, None)
    audit = (await server.http.get("/api/v1/audit", params={"action": "customer.erase"})).json()
    assert audit["items"][0]["after"]["chats"] == 1


async def test_a_customer_with_an_open_chat_is_not_erased(server: Server) -> None:
    customer = await server.customer(player=server.player("p-open"))
    await customer.say("你好")
    [customer_id] = await server.rows(select(Customer.id).where(Customer.player_id == "p-open"))
    reply = await server.http.post(f"/api/v1/customers/{customer_id}/erase")
    assert reply.status_code == 409 and reply.json()["code"] == "invalid_state"
    [count] = await server.rows(
        select(func.count()).select_from(Message).where(Message.chat_id == customer.chat_id)
    )
    assert count > 0


async def test_erasing_a_guest_forgets_their_device_and_address(server: Server) -> None:
    """S-classes batch keeps a guest's device id and an address digest; erasure drops both."""
    guest = await server.customer(device="w-1234", address="198.51.100.7")
    # A complaint keeps the customer's row (S-record), so the row itself is what is cleared.
    await guest.send({"type": "complain", "topic": "recharge", "text": "充值没到账"})
    await guest.until("message", template="complaint_ack")
    await server.http.post(f"/api/v1/chats/{guest.chat_id}/close")
    await guest.close()
    [customer] = await server.rows(select(Customer).order_by(Customer.id.desc()).limit(1))
    assert customer.device == "w-1234" and customer.address is not None
    assert "198.51.100.7" not in customer.address
    reply = await server.http.post(f"/api/v1/customers/{customer.id}/erase")
    assert reply.status_code == 200, reply.text
    [after] = await server.rows(select(Customer).where(Customer.id == customer.id))
    assert (after.device, after.address) == (None, None)

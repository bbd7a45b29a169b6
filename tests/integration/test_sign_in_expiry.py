"""Resume tokens expire KEFU_RESUME_TTL_H after the chat closed; a player signature opens
one chat only while it is valid (the replay guard), on every process alike."""

from __future__ import annotations

from service.db.models import UsedSignature
from tests.support.server import Server

HOUR = 3600


async def closed_chat(server: Server) -> tuple[int, str]:
    customer = await server.customer()
    await customer.send({"type": "close"})
    await customer.until("closed", by="customer")
    await customer.close()
    return customer.chat_id, customer.token


async def test_a_closed_chat_resumes_until_its_resume_ttl(server: Server) -> None:
    ttl_h = server.runtime.settings.resume_ttl_h
    chat_id, token = await closed_chat(server)
    server.clock.advance(ttl_h * HOUR - 1)
    within = await server.customer(resume={"token": token, "last_seq": 0})
    assert within.chat_id == chat_id
    await within.close()

    server.clock.advance(2)
    late = await server.customer(ready=False, resume={"token": token, "last_seq": 0})
    assert await late.closed_with() == 4403
    assert late.ws.close_reason == "resume token has expired"


async def test_an_open_chat_resumes_however_long_it_has_been_open(server: Server) -> None:
    customer = await server.customer()
    await customer.close()
    server.clock.advance(server.runtime.settings.resume_ttl_h * HOUR * 3)
    again = await server.customer(resume={"token": customer.token, "last_seq": 0})
    assert again.chat_id == customer.chat_id


async def test_a_player_signature_opens_one_chat_only(server: Server) -> None:
    claim = server.player("p-7", "李雷", "vip1")
    first = await server.customer(player=claim)
    replay = await server.customer(ready=False, player=claim)
    assert await replay.closed_with() == 4403
    assert replay.ws.close_reason == "player signature was already used; sign in again"
    # The first socket is unharmed, and a fresh signature opens the player's next chat.
    await first.say("还在吗")
    second = await server.customer(player=server.player("p-7", "李雷", "vip1"))
    assert second.chat_id != first.chat_id


async def test_a_signature_is_forgotten_once_it_has_expired(server: Server) -> None:
    ttl_s = server.runtime.settings.player_sig_ttl_s
    await server.customer(player=server.player("p-1"))
    assert len(await server.rows(UsedSignature.__table__.select())) == 1  # type: ignore[arg-type]
    server.clock.advance(ttl_s + 120)
    await server.customer(player=server.player("p-2"))
    kept = await server.rows(UsedSignature.__table__.select())  # type: ignore[arg-type]
    assert len(kept) == 1, "the expired signature is forgotten, the new one kept"


async def test_a_signature_used_on_one_process_is_refused_on_another(
    server_pair: tuple[Server, Server],
) -> None:
    one, two = server_pair
    claim = one.player("p-9")
    await one.customer(player=claim)
    replay = await two.customer(ready=False, player=claim)
    assert await replay.closed_with() == 4403
    assert replay.ws.close_reason == "player signature was already used; sign in again"

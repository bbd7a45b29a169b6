"""/metrics tells an operator what happens, not only what is: frames by type, errors by code,
events published, acks and batches, timers fired and how late, reply waits (S-no-silence)."""

from __future__ import annotations

import re

from tests.support.server import Server


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in a Prometheus text exposition (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in text.splitlines():
        match = re.fullmatch(
            rf"{re.escape(name)}(?:\{{(?P<labels>[^}}]*)\}})? (?P<value>\S+)", line
        )
        if match is None:
            continue
        got = ",".join(sorted((match.group("labels") or "").split(","))) if wanted else ""
        if got == wanted or (not wanted and match.group("labels") is None):
            return float(match.group("value"))
    return 0.0


async def test_what_happened_is_counted(server: Server) -> None:
    agent = await server.agent()
    customer = await server.customer()
    await agent.expect("assigned", chat_id=customer.chat_id)
    await customer.say("充值没到账")
    await agent.until("message", chat_id=customer.chat_id, sender="customer")
    server.clock.advance(20)
    await agent.say(customer.chat_id, "您好,我来为您查询")
    await customer.send("{not json")
    await customer.until("error", code="bad_json")
    await customer.say("还要多久?")
    fired = await server.advance(61)  # S-long-wait: the apology timer fires, a second late
    assert fired == 1
    await customer.until("message", template="long_wait")

    text = (await server.http.get("/metrics")).text
    assert sample(text, "kefu_frames_received_total", audience="customer", type="message") == 2
    assert sample(text, "kefu_frames_received_total", audience="agent", type="message") == 1
    assert sample(text, "kefu_frames_sent_total", audience="customer", type="ack") == 2
    assert sample(text, "kefu_errors_total", code="bad_json") == 1
    # The welcome, two customer messages, the reply, the apology.
    assert sample(text, "kefu_events_published_total", type="message") == 5
    assert sample(text, "kefu_ack_seconds_count") == 3
    assert sample(text, "kefu_hello_seconds_count") == 1
    assert sample(text, "kefu_writer_batch_units_count") >= 1
    assert sample(text, "kefu_timers_fired_total", kind="long_wait") == 1
    assert sample(text, "kefu_timer_late_seconds_count") == 1
    assert sample(text, "kefu_timer_late_seconds_sum") == 1.0
    # One reply ended one wait, of 20 s (the injected clock's).
    assert sample(text, "kefu_reply_wait_seconds_count") == 1
    assert sample(text, "kefu_reply_wait_seconds_sum") == 20.0

"""Thousands of generated frames at both sockets of one server: none of them crashes it.

Hypothesis writes the frames (valid-ish ones with fields mutated, plus junk); they are sent in
batches, each batch closed by a probe that must be answered. A 1006 or 1011 close, a server
fault in the log or a probe left unanswered fails the test.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.support.server import TIMEOUT, Customer, Peer, Server

FRAMES = int(os.environ.get("KEFU_TEST_FUZZ_FRAMES", "10000"))
BATCH = 100
CRASHES = {1006, 1011}

SPECIAL_TEXT = st.sampled_from(
    [
        "",
        "\x00",
        "a\x00b",
        "\ud800",
        "\udfff",
        "x\ud83d",
        "\n",
        "\x1b[31m",
        "长" * 3000,
        "😀",
        "[" * 40,
        "NaN",
        "9" * 30,
        "您搞错了",
        "滚",
        "\u202e",
        "' OR 1=1 --",
    ]
)
SPECIAL_INT = st.sampled_from(
    [0, -1, 1, 2**31 - 1, 2**31, 2**32, 2**53 + 1, 2**63 - 1, 2**63, -(2**63) - 1, 10**30]
)
SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    SPECIAL_INT,
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    SPECIAL_TEXT,
)
WILD = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def customer_frames(chat_id: int) -> list[dict[str, Any]]:
    return [
        {"type": "message", "client_id": "c", "text": "你好"},
        {"type": "typing"},
        {"type": "close"},
        {"type": "rate", "score": 7, "comment": "好"},
        {"type": "complain", "topic": "recharge", "text": "没到账"},
        {"type": "leave_message", "contact": "13800000000", "text": "回电"},
        {"type": "hello", "group": "billing"},
    ]


def agent_frames(chat_id: int) -> list[dict[str, Any]]:
    return [
        {"type": "message", "chat_id": chat_id, "client_id": "a", "text": "您好"},
        {"type": "status", "status": "online"},
        {"type": "typing", "chat_id": chat_id},
        {"type": "template", "chat_id": chat_id, "key": "hold", "vars": {"name": "x"}},
        {"type": "note", "chat_id": chat_id, "text": "内部"},
        {"type": "correct", "chat_id": chat_id, "seq": 2, "text": "更正"},
        {"type": "hold", "chat_id": chat_id},
        {"type": "transfer", "chat_id": chat_id, "to_group": "billing", "note": "转"},
        {"type": "complaint", "chat_id": chat_id, "topic": "recharge", "summary": "s"},
        {"type": "dismiss_complaint", "complaint_id": 1, "comment": "误报"},
    ]


@st.composite
def mutated(draw: st.DrawFn, bases: list[dict[str, Any]]) -> str | bytes:
    frame = dict(draw(st.sampled_from(bases)))
    for name in draw(st.lists(st.sampled_from(sorted(frame)), max_size=3, unique=True)):
        if draw(st.booleans()):
            frame[name] = draw(WILD)
        else:
            del frame[name]
    if draw(st.integers(0, 9)) == 0:
        frame[draw(st.text(max_size=8))] = draw(WILD)
    raw = json.dumps(frame, ensure_ascii=draw(st.booleans()) or _unsendable(frame))
    if draw(st.integers(0, 19)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))]  # cut short
    return raw


def _unsendable(frame: dict[str, Any]) -> bool:
    try:
        json.dumps(frame, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return True  # lone surrogates travel escaped, as a browser's JSON.stringify sends them
    return False


JUNK = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=200),
    WILD.map(lambda value: json.dumps(value)),
    st.integers(1, 3000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 3000).map(lambda n: '{"type": "typing", "x": ' + "{" * n),
    st.integers(1, 400).map(lambda n: '{"type": "rate", "score": 1' + "0" * n * 12 + "}"),
    # Texts that make a careless scanner quadratic: quotes and backslashes, unterminated.
    st.integers(1, 30000).map(lambda n: '"\\' * n + "[" * 40),
    st.integers(1, 30000).map(lambda n: '"' * n + "{" * 40),
)


def generate(bases: list[dict[str, Any]], count: int) -> list[str | bytes]:
    frames: list[str | bytes] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        deadline=None,
    )
    @given(st.one_of(mutated(bases), mutated(bases), mutated(bases), JUNK))
    def collect(frame: str | bytes) -> None:
        frames.append(frame)

    collect()
    return frames


@pytest.fixture(autouse=True)
def no_tracebacks(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    yield
    faults = [r for r in caplog.records if r.exc_info or r.levelname in ("ERROR", "CRITICAL")]
    assert not faults, [r.getMessage() for r in faults[:5]]


async def throw(
    peer: Peer, batch: list[str | bytes], probe: int, answers: Counter[str] | None = None
) -> int | None:
    """Send a batch and a probe; the close code if the socket closed, else None once the probe
    is answered. ``answers`` counts the frames that came back, by type and error code."""
    try:
        for frame in batch:
            await peer.ws.send(frame)
        await peer.send({"type": f"probe-{probe}"})
        while True:
            frame = json.loads(await asyncio.wait_for(peer.ws.recv(), TIMEOUT))
            if frame.get("code") == "unknown_type" and f"probe-{probe}" in frame["message"]:
                return None
            if answers is not None:
                answers[frame.get("code") or frame["type"]] += 1
    except websockets.ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else 1006


async def test_generated_frames_never_crash_either_socket(server: Server) -> None:
    await server.group("billing")
    agent = await server.agent(capacity=10, groups=("billing",))
    customers = [await server.customer() for _ in range(3)]
    for _ in customers:
        await agent.until("assigned")
    chat_id = customers[0].chat_id
    half = FRAMES // 2
    at_customers = generate(customer_frames(chat_id), half)
    at_agent = generate(agent_frames(chat_id), FRAMES - half)
    assert len(at_customers) + len(at_agent) >= FRAMES

    closes: list[int] = []
    answers: Counter[str] = Counter()
    sockets: list[Peer] = [*customers, agent]
    batches = [(i % 3, at_customers[i : i + BATCH]) for i in range(0, half, BATCH)]
    agent_batches = [(3, at_agent[i : i + BATCH]) for i in range(0, len(at_agent), BATCH)]
    for n, (slot, batch) in enumerate(_interleave(batches, agent_batches)):
        code = await throw(sockets[slot], batch, n, answers)
        if code is None:
            continue
        assert code not in CRASHES, f"batch {n} closed the socket with {code}"
        closes.append(code)  # a documented close (e.g. 4401 after a chat ended): reconnect
        if slot == 3:
            sockets[3] = await server.agent_socket(agent.info["token"])
        else:
            sockets[slot] = await server.customer()
    # Every socket still answers, and the server still serves new ones.
    for n, peer in enumerate(sockets):
        assert await throw(peer, [], 10_000 + n) is None
    fresh: Customer = await server.customer()
    assert (await fresh.say("最后一句"))["seq"] > 0
    assert len(closes) < 5, closes
    # The frames reached the parser and the services: refused in many ways, some even served.
    assert answers["bad_frame"] + answers["bad_json"] > FRAMES // 3, answers
    assert set(answers) - {"bad_frame", "bad_json", "unknown_type"}, answers


def _interleave(*lists: list[Any]) -> Iterator[Any]:
    longest = max(len(items) for items in lists)
    for index in range(longest):
        for items in lists:
            if index < len(items):
                yield items[index]

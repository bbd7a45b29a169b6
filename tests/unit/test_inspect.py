"""The checks every frame passes before a model sees it: depth, NUL, surrogates, numbers."""

from __future__ import annotations

import contextlib
import json
import time
from datetime import UTC, datetime

import pytest

from service.errors import BadFrame, BadJson, Forbidden
from service.realtime.inspect import (
    INT64_MAX,
    INT64_MIN,
    MAX_DEPTH,
    check_depth,
    check_value,
    depth_of,
    safe_ref,
)
from service.realtime.protocol import (
    AGENT_TYPES,
    CUSTOMER_TYPES,
    Parser,
    agent_commands,
    customer_commands,
    customer_hello,
)
from service.security import sign_player, verify_player

customer = Parser(customer_commands, CUSTOMER_TYPES, 65536)
agent = Parser(agent_commands, AGENT_TYPES, 65536)


def refused(parser: Parser[object], raw: str) -> BadFrame:
    with pytest.raises(BadFrame) as caught:
        parser.command(parser.decode(raw))
    return caught.value


def test_depth_counts_brackets_outside_strings_only() -> None:
    assert depth_of('{"a": [[1], {"b": []}]}') == 4
    assert depth_of('{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert depth_of(r'{"a": "\"[[[[[[", "b": [1]}') == 2


def test_nesting_at_the_limit_passes_and_one_deeper_is_refused() -> None:
    check_depth("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    with pytest.raises(BadFrame, match="nested deeper"):
        check_depth("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


def test_json_nested_a_thousand_deep_is_a_bad_frame_not_a_recursion_error() -> None:
    raw = '{"type": "typing", "x": ' + "[" * 1000 + "]" * 1000 + "}"
    assert refused(customer, raw).code == "bad_frame"
    assert refused(customer, "[" * 60_000).code == "bad_frame"


@pytest.mark.parametrize(
    "text",
    [
        '"\\' * 32000 + "[" * 40,
        '"' * 65000 + "[" * 40,
        '"' + "\\" * 65000,
        ("[" * 32 + "]" * 32) * 1000,
    ],
)
def test_the_depth_scan_is_linear_on_hostile_text(text: str) -> None:
    # A string pattern that must find its closing quote retried at every '"': 10 s, not 3 ms.
    started = time.perf_counter()
    with contextlib.suppress(BadFrame):
        check_depth(text)
    assert time.perf_counter() - started < 1.0


def test_an_unterminated_string_hides_no_brackets_from_the_parser() -> None:
    with pytest.raises(BadJson):
        customer.decode('{"type": "typing", "x": "' + "[" * 1000)


def test_many_brackets_inside_a_string_are_fine() -> None:
    frame = {"type": "message", "client_id": "c", "text": "[" * 5000}
    assert customer.command(customer.decode(json.dumps(frame))).text == "[" * 5000


@pytest.mark.parametrize(
    "value",
    [
        "nul\x00inside",
        "\ud800",
        "lone low \udfff",
        {"k\x00": "v"},
        {"\udc00": "v"},
        ["ok", "\x00"],
        {"deep": {"deeper": ["\ud83d"]}},
        INT64_MAX + 1,
        INT64_MIN - 1,
        10**400,
        float("inf"),
        float("-inf"),
        float("nan"),
    ],
)
def test_the_walk_refuses_what_no_field_may_hold(value: object) -> None:
    with pytest.raises(BadFrame):
        check_value({"type": "message", "x": value})


@pytest.mark.parametrize(
    "value", ["你好 😀", "", INT64_MAX, INT64_MIN, 0, 1.5, -0.0, True, None, [], {"a": [1, "b"]}]
)
def test_the_walk_passes_ordinary_values(value: object) -> None:
    check_value({"type": "message", "x": value})


def test_the_walk_names_where_it_stopped() -> None:
    with pytest.raises(BadFrame, match=r"vars\.name: NUL"):
        check_value({"type": "template", "vars": {"name": "a\x00"}})
    with pytest.raises(BadFrame, match=r"list\[1\]: unpaired surrogate"):
        check_value({"list": ["a", "\ud800"]})


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_are_refused(constant: str) -> None:
    raw = json.dumps({"type": "rate", "score": float(constant)})
    assert constant in raw
    assert refused(customer, raw).code == "bad_frame"


def test_a_float_too_large_to_hold_is_refused() -> None:
    assert "out of range" in refused(customer, '{"type": "rate", "score": 1e999}').message


def test_an_integer_with_thousands_of_digits_is_bad_json() -> None:
    with pytest.raises(BadJson):
        customer.decode('{"type": "rate", "score": ' + "9" * 5000 + "}")


def test_invalid_utf8_bytes_are_bad_json() -> None:
    with pytest.raises(BadJson):
        customer.decode(b'{"type": "typing", "x": "\xff"}')


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "correct", "chat_id": 1, "seq": 2**63, "text": "x"},
        {"type": "correct", "chat_id": 1, "seq": 2**31 * 2**32, "text": "x"},
        {"type": "transfer", "chat_id": 1, "to_agent": 2**63, "note": "x"},
        {"type": "template", "chat_id": 1, "key": "k", "vars": {"a": "\x00"}},
        {"type": "transfer", "chat_id": 1, "to_group": "g\x00", "note": "x"},
        {"type": "dismiss_complaint", "complaint_id": 1, "comment": "\x00"},
        {"type": "complaint", "chat_id": 1, "topic": "t", "summary": "s", "facts": {"a": "\x00"}},
    ],
)
def test_agent_frames_with_values_out_of_bounds_are_refused(frame: dict[str, object]) -> None:
    refused(agent, json.dumps(frame))


def test_seqs_up_to_bigint_are_accepted() -> None:
    raw = json.dumps({"type": "correct", "chat_id": 1, "seq": 2**40, "text": "x"})
    assert agent.command(agent.decode(raw)).seq == 2**40  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "rate", "score": 5, "comment": "\x00"},
        {"type": "leave_message", "contact": "a\x00", "text": "x"},
        {"type": "complain", "topic": "t\x00", "text": "x"},
    ],
)
def test_customer_frames_with_nul_anywhere_are_refused(frame: dict[str, object]) -> None:
    refused(customer, json.dumps(frame))


def test_hello_with_nul_group_or_huge_ts_is_refused() -> None:
    hello = Parser(customer_hello, frozenset({"hello"}), 65536)
    refused(hello, json.dumps({"type": "hello", "group": "g\x00"}))
    player = {"id": "p", "ts": 10**400, "sig": "x"}
    refused(hello, json.dumps({"type": "hello", "player": player}))
    refused(hello, json.dumps({"type": "hello", "resume": {"token": "t", "last_seq": 2**63}}))


def test_safe_ref_echoes_only_what_can_be_sent_back() -> None:
    assert safe_ref("m-7") == "m-7"
    assert safe_ref("\ud800") is None
    assert safe_ref("a\x00") is None
    assert safe_ref("x" * 65) is None
    assert safe_ref(7) is None


NOW = datetime(2026, 12, 3, tzinfo=UTC)


def verify(sig: str, ts: int, name: str | None = None) -> None:
    verify_player(
        "s3cret", player_id="p1", name=name, tier=None, ts=ts, sig=sig, now=NOW, ttl_s=300
    )


def test_a_valid_player_signature_passes() -> None:
    ts = int(NOW.timestamp())
    verify(sign_player("s3cret", "p1", None, None, ts), ts)


@pytest.mark.parametrize("sig", ["签名", "é" * 64, "\ud800"])
def test_a_non_ascii_signature_is_forbidden_not_a_type_error(sig: str) -> None:
    with pytest.raises(Forbidden, match="does not match"):
        verify(sig, int(NOW.timestamp()))


@pytest.mark.parametrize("ts", [10**400, 2**63, -1, -(10**30)])
def test_a_timestamp_out_of_range_is_forbidden_not_an_overflow(ts: int) -> None:
    with pytest.raises(Forbidden, match="expired"):
        verify("0" * 64, ts)


def test_a_surrogate_in_a_signed_field_is_forbidden() -> None:
    with pytest.raises(Forbidden):
        verify("0" * 64, int(NOW.timestamp()), name="\udc80")


def test_a_close_reason_fits_123_bytes_on_a_character_boundary() -> None:
    from service.api.sockets import reason

    cut = reason("invalid hello: unknown frame type '" + "长" * 60 + "'")
    assert len(cut.encode()) <= 123
    assert cut.startswith("invalid hello: unknown frame type '长")
    assert reason("ok") == "ok"
    assert reason("\ud800").encode() == b"?"

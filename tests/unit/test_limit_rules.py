"""The limiter's pure rules: token bucket, sliding window, a socket's buckets, origins."""

from __future__ import annotations

import pytest

from service.api.limits import (
    SocketLimiter,
    TokenBucket,
    Window,
    networks,
    retry_after,
    token_key,
    within,
)
from service.api.origins import Origins
from service.settings import Settings


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def test_a_bucket_lets_its_burst_through_then_says_how_long_to_wait() -> None:
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.25) == pytest.approx(0.25)  # half a token refilled
    assert bucket.take(0.5) == 0.0


def test_a_bucket_refills_to_its_burst_and_no_more() -> None:
    bucket = TokenBucket(rate=1.0, burst=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert [bucket.take(1000.0) for _ in range(3)][:2] == [0.0, 0.0]
    assert bucket.take(1000.0) > 0.0


def test_a_clock_stepping_back_refills_nothing() -> None:
    bucket = TokenBucket(rate=1.0, burst=1, now=100.0)
    assert bucket.take(100.0) == 0.0
    assert bucket.take(50.0) == pytest.approx(1.0)
    assert bucket.take(100.5) == pytest.approx(0.5)


def test_a_window_counts_per_key_and_forgets_what_slid_out() -> None:
    window = Window(limit=2, span_s=60.0)
    assert window.hit("a", 0.0) == 0.0
    assert window.hit("a", 10.0) == 0.0
    assert window.hit("a", 20.0) == pytest.approx(40.0)  # the first expires at 60
    assert window.hit("b", 20.0) == 0.0
    assert window.hit("a", 60.0) == 0.0
    assert window.full("a", 60.0) == pytest.approx(10.0)


def test_a_refused_hit_is_not_counted() -> None:
    window = Window(limit=1, span_s=10.0)
    window.hit("a", 0.0)
    for at in range(1, 10):
        window.hit("a", float(at))
    assert window.full("a", 10.0) == 0.0


def test_a_window_drops_keys_that_expired() -> None:
    window = Window(limit=1, span_s=1.0)
    for i in range(2048):
        window.add(f"k{i}", float(i))
    assert len(window._times) < 1100


def test_a_socket_pays_a_frame_token_and_a_message_token_for_a_line() -> None:
    limiter = SocketLimiter(TokenBucket(10.0, 6, 0.0), TokenBucket(1.0, 2, 0.0), max_strikes=2)
    assert limiter.frame(0.0) == 0.0 and limiter.message(0.0) == 0.0
    assert limiter.frame(0.0) == 0.0 and limiter.message(0.0) == 0.0
    assert limiter.frame(0.0) == 0.0
    assert limiter.message(0.0) == pytest.approx(1.0)
    assert limiter.frame(0.0) == 0.0
    assert limiter.message(0.0) == pytest.approx(1.0)
    assert limiter.exhausted  # two lines refused in a row, their frames let in or not
    limiter.passed()
    # Typing still passes: the refused lines gave their frame tokens back.
    assert [limiter.frame(0.0) for _ in range(4)] == [0.0, 0.0, 0.0, 0.0]
    assert limiter.frame(0.0) > 0.0
    assert not limiter.exhausted
    assert limiter.frame(0.0) > 0.0
    assert limiter.exhausted


def test_an_admitted_frame_clears_the_strikes() -> None:
    limiter = SocketLimiter(TokenBucket(1.0, 1, 0.0), None, max_strikes=3)
    limiter.frame(0.0)
    limiter.frame(0.0)
    limiter.frame(0.0)
    assert limiter.strikes == 2
    assert limiter.frame(5.0) == 0.0
    limiter.passed()
    assert limiter.strikes == 0


def test_an_exempt_socket_is_never_refused() -> None:
    limiter = SocketLimiter(None, None)
    assert all(limiter.frame(0.0) == 0.0 and limiter.message(0.0) == 0.0 for _ in range(1000))


def test_waits_are_told_in_tenths_rounded_up() -> None:
    assert retry_after(0.0001) == 0.1
    assert retry_after(0.31) == 0.4
    assert retry_after(12.0) == 12.0


def test_exempt_networks_take_addresses_and_blocks() -> None:
    blocks = networks("127.0.0.0/8, ::1,10.1.2.3")
    assert within("127.0.0.5", blocks) and within("::1", blocks) and within("10.1.2.3", blocks)
    assert not within("10.1.2.4", blocks)
    assert not within("not an address", blocks)
    with pytest.raises(ValueError):
        settings(limits_exempt="10.0.0.0/33")


def test_a_token_is_keyed_by_its_prefix_only() -> None:
    assert token_key("kfa_abcdefgh-and-the-secret-rest") == "kfa_abcdefgh"


def test_the_same_origin_and_no_origin_are_allowed_by_default() -> None:
    origins = Origins.of(settings())
    assert origins.allows(None, "desk.example.com")
    assert origins.allows("https://desk.example.com", "desk.example.com")
    assert not origins.allows("https://evil.example.net", "desk.example.com")
    assert not origins.allows("null", "desk.example.com")


def test_the_widget_sites_and_the_public_url_are_allowed_by_default() -> None:
    origins = Origins.of(
        settings(
            widget_frame_ancestors="https://game.example.com https://*.play.example.com",
            public_url="https://kefu.example.com/",
        )
    )
    host = "10.0.0.5:8000"
    assert origins.allows("https://game.example.com", host)
    assert origins.allows("https://cn.play.example.com", host)
    assert origins.allows("https://kefu.example.com", host)
    assert not origins.allows("http://game.example.com", host)  # another scheme, another origin
    assert not origins.allows("https://play.example.com.evil.net", host)


def test_allowed_origins_replace_the_default_and_star_allows_any() -> None:
    origins = Origins.of(settings(allowed_origins="https://a.example.com,https://b.example.com"))
    assert origins.allows("https://b.example.com", "kefu.local")
    assert origins.allows("https://kefu.local", "kefu.local")
    assert not origins.allows("https://c.example.com", "kefu.local")
    assert Origins.of(settings(allowed_origins="*")).allows("https://c.example.com", "x")

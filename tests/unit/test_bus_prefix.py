"""KEFU_REDIS_PREFIX: one channel namespace per deployment, never shared by accident."""

from __future__ import annotations

from service.realtime.bus import MemoryBus, RedisBus, create_bus
from service.settings import Settings
from tests.support.server import DATA_KEY

PG = "postgresql+asyncpg://kefu:{password}@db.internal:5432/{name}"


def prefix(database_url: str, **values: str) -> str:
    return Settings(
        _env_file=None, database_url=database_url, data_key=DATA_KEY, **values
    ).bus_prefix


def test_prefix_defaults_to_a_short_hash_of_the_database() -> None:
    value = prefix(PG.format(password="s3cret", name="desk"))
    assert value.startswith("kefu.") and len(value) == len("kefu.") + 12


def test_two_databases_get_two_prefixes() -> None:
    assert prefix(PG.format(password="x", name="desk_a")) != prefix(
        PG.format(password="x", name="desk_b")
    )


def test_prefix_survives_a_password_change_and_never_shows_it() -> None:
    old, new = PG.format(password="old-pass", name="desk"), PG.format(password="new", name="desk")
    assert prefix(old) == prefix(new)
    assert "old-pass" not in prefix(old)


def test_an_explicit_prefix_wins() -> None:
    assert prefix(PG.format(password="x", name="desk"), redis_prefix="prod-eu") == "prod-eu"


def test_the_prefix_names_the_channel() -> None:
    bus = create_bus("redis://127.0.0.1:1/0", "prod-eu")
    assert isinstance(bus, RedisBus) and bus.channel == "prod-eu.events"
    assert isinstance(create_bus(None, "prod-eu"), MemoryBus)

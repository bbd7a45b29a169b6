"""Every setting of kefu, read from the environment (prefix ``KEFU_``) in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service.desk.hours import parse_hours, zone

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/kefu.db"
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None

    admin_token: str | None = None
    player_secret: str | None = None
    player_sig_ttl_s: int = 300

    brand: str = "3yx"
    default_locale: str = "zh-CN"
    phrases_dir: Path = ROOT / "phrases"

    max_text: int = 4000
    max_frame_bytes: int = 65536
    hello_timeout_s: float = 5.0
    outgoing_queue: int = 256
    default_capacity: int = 5

    agent_grace_s: float = 60.0
    customer_grace_s: float = 120.0

    scheduler_poll_s: float = Field(default=0.5, gt=0)
    log_level: str = "info"

    # S-forbidden-phrases: "block" refuses an agent message with a taboo phrase, "warn" sends
    # it and records the hit.
    forbidden_mode: Literal["block", "warn"] = "block"
    # S-no-unattended: daily windows in local time (service/desk/hours.py has the format).
    service_hours: str = "00:00-24:00"
    timezone: str = "Asia/Shanghai"
    # S-callback-24h: a message left while nobody could answer is due back within this.
    callback_within_h: float = Field(default=24.0, gt=0, le=24)

    @field_validator("service_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        zone(value)
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

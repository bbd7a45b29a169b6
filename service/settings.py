"""Every setting of kefu, read from the environment (prefix ``KEFU_``) in one place."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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

    # Timing rules (service/chats/timing.py), in seconds.
    long_wait_s: float = Field(default=60.0, gt=0)
    hold_s: float = Field(default=60.0, gt=0)
    accept_timeout_s: float = Field(default=90.0, gt=0)
    idle_prompt_s: float = Field(default=300.0, gt=0)
    idle_close_s: float = Field(default=120.0, gt=0)
    close_grace_s: float = Field(default=30.0, ge=0)

    scheduler_poll_s: float = Field(default=0.5, gt=0)
    log_level: str = "info"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

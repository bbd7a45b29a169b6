"""Every setting of kefu, read from the environment (prefix ``KEFU_``) in one place."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

from service.hours import parse_hours, zone
from service.shifts import parse_shifts

ROOT = Path(__file__).resolve().parent.parent
# A fixed admin token shorter than this is refused at start (a guessable master key).
MIN_ADMIN_TOKEN = 16


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KEFU_", env_file=".env", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///var/kefu.db"
    redis_url: str | None = None
    # Names this deployment's channels on a shared Redis (pub/sub ignores the db number); by
    # default derived from the database URL, so two deployments never share one by accident.
    redis_prefix: str | None = None
    # While Redis is away, how often each socket reads what it missed from the database.
    bus_poll_s: float = Field(default=1.0, gt=0)
    # SIGTERM: how long open sockets and handlers get before the process exits anyway.
    shutdown_timeout_s: float = Field(default=10.0, gt=0)
    # Whether ``serve`` migrates before serving. Safe in every replica (an advisory lock lets
    # one migrate at a time); 0 where a one-shot ``python -m service migrate`` does it instead.
    migrate: bool = True
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str | None = None

    # A fixed admin token of the HTTP API: at least MIN_ADMIN_TOKEN characters (or unset).
    admin_token: str | None = None
    player_secret: str | None = None
    # How long a player signature is good for; each opens one chat only (the replay guard).
    player_sig_ttl_s: int = 300
    # How long after its chat closed a resume token still reopens the transcript (hours).
    resume_ttl_h: float = Field(default=24.0, gt=0)
    # Development only: /demo/ signs a sample VIP player with player_secret, so the embed can
    # be tried as a signed-in player without a game backend. Never on a public server.
    demo: bool = False

    brand: str = "3yx"
    default_locale: str = "zh-CN"
    phrases_dir: Path = ROOT / "phrases"

    max_text: int = 4000
    # Attachments (docs/protocol.md#attachments): kept on disk under the data directory, beside
    # the SQLite file; links to them are signed and expire.
    media_dir: Path = Path("var/media")
    max_upload_mb: float = Field(default=10.0, gt=0, le=100)
    media_url_ttl_s: int = Field(default=600, ge=10, le=86400)
    # The links' HMAC key; unset, the first process makes one and keeps it in the database,
    # so every process of a deployment signs alike.
    media_secret: str | None = None
    # Leave-message contacts are stored encrypted (docs/privacy.md): Fernet keys, comma-
    # separated, the first encrypts and each decrypts (rotation). Required with PostgreSQL (a
    # key in the database it protects would protect nothing); on SQLite, unset, the first run
    # writes one to KEFU_DATA_KEY_FILE (default: data.key beside the SQLite file).
    data_key: str | None = None
    data_key_file: Path | None = None
    # An upload's body must have fully arrived within this, or it is answered 408 and nothing
    # is stored (generous: 10 MB from a phone on a poor line).
    upload_timeout_s: float = Field(default=60.0, gt=0, le=3600)
    # An upload no sent message carries is deleted (row and file) once older than this.
    unsent_upload_ttl_h: float = Field(default=24.0, gt=0, le=8760)
    # Privacy (docs/privacy.md). Supervisors see personal information in clear only when this
    # is on (they then may dial callbacks' numbers); admins always do, agents over HTTP never.
    supervisor_pii: bool = False
    # Closed chats older than this many days are purged once a day; unset: never by itself.
    retention_days: int | None = Field(default=None, ge=1, le=36500)
    max_frame_bytes: int = 65536
    # Admin API request bodies over this are refused (413) before they are read.
    max_body_kb: int = Field(default=1024, ge=1)

    # A request whose body has not fully arrived within this is answered 408 (a client that
    # announces a large body and sends a few bytes holds nothing open for long).
    body_timeout_s: float = Field(default=10.0, gt=0)

    # Limits (README, "Limits"; docs/protocol.md). Per socket: every frame takes a frame
    # token, a stored line (message, template, note, correct) a message token too; a frame
    # that finds none is answered rate_limited, and after rate_strikes of those in a row the
    # socket is closed 1008. The bursts let an agent paste a few quick replies and a player
    # hammer enter.
    rate_frames_per_s: float = Field(default=20.0, gt=0)
    rate_frames_burst: int = Field(default=60, ge=1)
    rate_messages_per_s: float = Field(default=3.0, gt=0)
    rate_messages_burst: int = Field(default=20, ge=1)
    rate_strikes: int = Field(default=20, ge=1)
    # Per client address, in this process: open sockets, and new guest chats in a minute.
    # Generous, since an internet cafe puts many players behind one address.
    ip_max_sockets: int = Field(default=200, ge=1)
    ip_guest_chats_per_min: int = Field(default=60, ge=1)
    # Failed sign-ins (admin bearer tokens, agent hellos, player signatures, resume tokens)
    # within the window, per address and per token prefix; past them: 429 / close 4429.
    signin_failures_per_ip: int = Field(default=10, ge=1)
    signin_failures_per_token: int = Field(default=20, ge=1)
    signin_window_s: float = Field(default=300.0, gt=0)
    # Client addresses (comma-separated, CIDR allowed) no limit applies to: load generators,
    # internal tools. Empty by default.
    limits_exempt: str = ""
    # The proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (uvicorn's
    # forwarded_allow_ips): behind nginx on this host, 127.0.0.1 gives the real client address.
    trusted_proxies: str = "127.0.0.1"
    # Origins a browser socket may come from (comma-separated, "*" for any). Unset: this
    # server's own origin and the sites of KEFU_WIDGET_FRAME_ANCESTORS. A socket without an
    # Origin header is no browser's and is let in.
    allowed_origins: str | None = None

    # Webhooks (docs/webhooks.md). A process reads the subscriptions again after cache_s
    # (at once after a change through its own admin API); a failed delivery is tried again
    # after retry_base_s, doubling up to retry_max_s, until max_attempts, then marked failed.
    webhook_cache_s: float = Field(default=5.0, ge=0)
    webhook_poll_s: float = Field(default=1.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    webhook_retry_base_s: float = Field(default=10.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    webhook_max_attempts: int = Field(default=12, ge=1)
    webhook_batch: int = Field(default=20, ge=1)
    # How long a process holds deliveries it is sending; past it (it crashed) another may.
    webhook_lease_s: float = Field(default=60.0, gt=0)
    # Networks a webhook may post to although they are not public (comma-separated CIDRs):
    # by default none, no loopback, private, link-local or metadata address (SSRF).
    webhook_allow_networks: str = ""

    # /docs, /redoc and /openapi.json: served to anyone (true) or not at all (false: 404).
    docs_public: bool = True
    # /metrics: open when unset; else only with "Authorization: Bearer <token>".
    metrics_token: str | None = None
    # The CSP frame-ancestors of the widget (e.g. "https://game.example.com"): which sites
    # may frame it. Unset, any site may; every other page may be framed by none.
    widget_frame_ancestors: str | None = None
    hello_timeout_s: float = 5.0
    # How often each process checks, in the database, that the agents it holds sockets for
    # are still signed in (a revocation while Redis is away: service/tokens/sweep.py).
    sign_in_check_s: float = Field(default=0.5, gt=0, le=60)
    outgoing_queue: int = 256
    default_capacity: int = 5
    # When a new chat joins the line for an agent (S-welcome is sent at hello either way):
    # "message", at the customer's first message (a widget opened and left silent takes no
    # agent's seat nor starts their silent-agent timer); "hello", at once (the old way).
    route_on: Literal["message", "hello"] = "message"

    # How long a process keeps the template overrides it read before reading them again (a
    # change made through this process's admin API counts at once; another's, within this).
    template_cache_s: float = Field(default=5.0, ge=0)

    agent_grace_s: float = 60.0
    # Each process beats a heartbeat in the database; one silent for the TTL is taken for dead
    # and its sockets are counted out (their grace periods start) by the others.
    process_heartbeat_s: float = Field(default=5.0, gt=0)
    process_ttl_s: float = Field(default=20.0, gt=0)
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

    # Complaints and satisfaction (docs/complaints.md). Lists are comma-separated.
    complaint_topics: str = "recharge,account,gameplay,technical,service,other"
    complaint_default_topic: str = "other"
    complaint_survey_topic: str = "service"
    complaint_answer_h: float = Field(default=48.0, gt=0)
    complaint_urgent_answer_h: float = Field(default=24.0, gt=0)
    complaint_follow_up_h: float = Field(default=168.0, gt=0)
    complaint_unsatisfied_h: float = Field(default=168.0, gt=0)
    complaint_batch_window_min: float = Field(default=60.0, gt=0)
    complaint_batch_customers: int = Field(default=11, ge=1)
    complaint_batch_vip: int = Field(default=5, ge=1)
    complaint_repeat_days: float = Field(default=90.0, gt=0)
    # Surge mode (S-classes batch, docs/conduct.md): a batch of this many distinct people
    # declares an incident by itself (0: only supervisors declare), promising a fix within
    # KEFU_INCIDENT_AUTO_ETA_MIN; open incidents are read again every KEFU_INCIDENT_CACHE_S.
    incident_auto_customers: int = Field(default=30, ge=0)
    incident_auto_eta_min: float = Field(default=60.0, gt=0)
    incident_cache_s: float = Field(default=2.0, ge=0)
    complaint_vip_tiers: str = "vip1,vip2,vip3,vip4,vip5,vip6,vip7,vip8,vip9,svip"
    survey_on_close: bool = True
    # S-forbidden-phrases: "block" refuses an agent message with a taboo phrase, "warn" sends
    # it and records the hit.
    forbidden_mode: Literal["block", "warn"] = "block"
    # S-no-unattended: daily windows in local time (service/hours.py has the format).
    service_hours: str = "00:00-24:00"
    timezone: str = "Asia/Shanghai"
    # S-callback-24h: a message left while nobody could answer is due back within this.
    callback_within_h: float = Field(default=24.0, gt=0, le=24)
    # S-callback, S-callback-24h: an agent's promise (a callback, or a complaint's follow-up)
    # names a time at most this far ahead; its owner is reminded this many minutes before.
    promise_within_h: float = Field(default=24.0, gt=0, le=24)
    promise_remind_min: float = Field(default=15.0, ge=0)
    # S-no-unattended: the shifts and their agents (service/shifts.py has the format);
    # at a shift's end its agents' chats, complaints and promises pass to the next shift.
    shifts: str = ""

    # uvicorn's WebSocket implementation and compression, chosen by measurement
    # (docs/benchmarks.md): permessage-deflate costs memory on every idle connection.
    ws: Literal["websockets", "websockets-sansio", "wsproto"] = "websockets-sansio"
    ws_per_message_deflate: bool = False
    # A client that vanished without a close frame (a laptop lid shut, a NAT dropping the flow)
    # is noticed by the server's pings: no pong within the timeout closes the socket (1011),
    # and the grace period starts as for a socket closed by the client.
    ws_ping_interval_s: float = Field(default=20.0, gt=0)
    ws_ping_timeout_s: float = Field(default=20.0, gt=0)

    @field_validator("service_hours")
    @classmethod
    def _valid_hours(cls, value: str) -> str:
        parse_hours(value)
        return value

    @field_validator("admin_token")
    @classmethod
    def _strong_admin_token(cls, value: str | None) -> str | None:
        if not value:
            return None
        if len(value) < MIN_ADMIN_TOKEN or value.strip() != value:
            raise ValueError(
                f"KEFU_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN} characters, without"
                f" spaces around it (this one has {len(value)}); make one with"
                " `openssl rand -hex 24`, or leave it unset and use the printed token"
            )
        return value

    @field_validator("shifts")
    @classmethod
    def _valid_shifts(cls, value: str) -> str:
        parse_shifts(value)
        return value

    @field_validator("widget_frame_ancestors")
    @classmethod
    def _one_csp_directive(cls, value: str | None) -> str | None:
        # It goes into a header as one directive's sources: no ";" or "," to start another.
        if value is None:
            return None
        if not re.fullmatch(r"[^;,\r\n]*", value):
            raise ValueError("KEFU_WIDGET_FRAME_ANCESTORS is a space-separated source list")
        return value.strip() or None

    @field_validator("limits_exempt", "webhook_allow_networks")
    @classmethod
    def _valid_networks(cls, value: str) -> str:
        for item in value.split(","):
            if item.strip():
                ipaddress.ip_network(item.strip(), strict=False)
        return value

    @field_validator("data_key")
    @classmethod
    def _fernet_keys(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        for item in value.split(","):
            try:
                raw = base64.urlsafe_b64decode(item.strip().encode())
            except ValueError:
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    "KEFU_DATA_KEY must be Fernet keys (32 bytes, url-safe base64), comma-"
                    "separated; make one with `python -m service data-key`"
                )
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_zone(cls, value: str) -> str:
        zone(value)
        return value

    @property
    def bus_prefix(self) -> str:
        """``KEFU_REDIS_PREFIX``, or ``kefu.`` and a short hash of the database URL.

        The password is left out of the hash, so rotating it keeps the channels of a rolling
        deploy together.
        """
        if self.redis_prefix:
            return self.redis_prefix
        url = make_url(self.database_url).set(password=None).render_as_string()
        return "kefu." + hashlib.sha256(url.encode()).hexdigest()[:12]

    @property
    def data_key_path(self) -> Path:
        """Where the embedded default keeps its generated KEFU_DATA_KEY."""
        if self.data_key_file is not None:
            return self.data_key_file
        database = make_url(self.database_url).database
        if not database or database == ":memory:":
            return Path("var/data.key")
        return Path(database).parent / "data.key"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def topics(self) -> tuple[str, ...]:
        return _items(self.complaint_topics)

    @property
    def vip_tiers(self) -> frozenset[str]:
        return frozenset(tier.casefold() for tier in _items(self.complaint_vip_tiers))

    @model_validator(mode="after")
    def _data_key_given(self) -> Settings:
        if self.data_key is None and not self.is_sqlite:
            raise ValueError(
                "KEFU_DATA_KEY is required with PostgreSQL: it encrypts the contacts customers"
                " leave (docs/privacy.md); make one with `python -m service data-key`"
            )
        return self

    @model_validator(mode="after")
    def _complaint_topics_known(self) -> Settings:
        topics = self.topics
        if not topics or any(len(topic) > 64 for topic in topics):
            raise ValueError("KEFU_COMPLAINT_TOPICS needs 1-64 character topics")
        for name in ("complaint_default_topic", "complaint_survey_topic"):
            if getattr(self, name) not in topics:
                raise ValueError(f"KEFU_{name.upper()} must be one of KEFU_COMPLAINT_TOPICS")
        return self


def _items(value: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))

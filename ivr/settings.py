"""Service settings from environment variables (prefix ``IVR_``), via pydantic-settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SEAT_SECRET = "dev-seat-secret-change-me"
DEV_ADMIN_TOKEN = "dev-admin-token"
DEV_MONITOR_TOKEN = "dev-monitor-token"


class Settings(BaseSettings):
    """Everything the service reads from its environment; see README "Configuration"."""

    model_config = SettingsConfigDict(env_prefix="IVR_", env_file=".env", extra="ignore")

    env: Literal["development", "production"] = "development"
    center: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    redis_url: str | None = None
    redis_cluster: bool = False
    data_dir: Path = Path(".ivr-data")
    config_dir: Path = Path(".")
    public_base_url: str | None = None
    validate_signatures: bool = True
    twilio_account_sid: str | None = None
    twilio_auth_token: str = "dev-auth-token"
    backup_number: str = "+8612345000000"
    seat_secret: str = DEV_SEAT_SECRET
    admin_token: str = DEV_ADMIN_TOKEN
    monitor_token: str = DEV_MONITOR_TOKEN
    tokens_file: Path | None = None
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    metrics_token: str = ""  # empty: /metrics is open (scrapers inside the network)
    short_abandon_seconds: float = Field(5.0, ge=0, le=60)
    rate_limit_calls: int = Field(6, ge=0)  # calls one number may make per window; 0 = off
    rate_limit_window_seconds: float = Field(60.0, gt=0)
    stale_call_seconds: float = Field(6 * 3600, ge=600)  # end calls with no status callback
    monitor_longest_wait_seconds: float = Field(60.0, gt=0)  # alert: someone waits longer
    monitor_min_calls: int = Field(1, ge=1)  # alert on answer rate only after this many calls
    monitor_overflow_intervals: int = Field(3, ge=1)  # alert: sub-center overflowing this many
    # 15-minute intervals in a row
    hold_loop_seconds: int = Field(10, ge=2, le=120)
    hold_music_url: str | None = None
    callback_from: str = ""  # Twilio number callbacks come from, unless the queue names one
    survey: bool = True  # ask callers to rate the call after the seat hangs up
    sweep_interval_seconds: float = Field(0.5, gt=0, le=10)
    call_retention_seconds: int = Field(7 * 86400, ge=60)
    redis_timeout_seconds: float = Field(0.5, gt=0, le=10)
    redis_connect_timeout_seconds: float = Field(2.0, gt=0, le=10)  # opening a connection
    webhook_budget_seconds: float = Field(3.0, gt=0, le=12)  # then the apology, under Twilio's 15 s
    redis_breaker_seconds: float = Field(0.5, ge=0, le=30)  # after a Redis failure, skip Redis
    hold_watchdog_seconds: float = Field(120.0, ge=30)  # a waiting caller silent this long is gone
    redis_max_connections: int = Field(64, ge=2, le=10000)
    redis_pool_wait_seconds: float = Field(5.0, gt=0, le=12)  # under Twilio's 15 s
    bench_endpoint: bool = False
    log_level: str = "info"
    workers: int = Field(1, ge=1, le=64)
    host: str = "127.0.0.1"
    port: int = 8000

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production":
            if self.seat_secret in ("", DEV_SEAT_SECRET):
                raise ValueError("IVR_SEAT_SECRET must be set to a real secret in production")
            if self.twilio_auth_token in ("", "dev-auth-token"):
                raise ValueError("IVR_TWILIO_AUTH_TOKEN must be set in production")
            for name, value, dev in (("IVR_ADMIN_TOKEN", self.admin_token, DEV_ADMIN_TOKEN),
                                     ("IVR_MONITOR_TOKEN", self.monitor_token, DEV_MONITOR_TOKEN)):
                if value == dev or (not value and not self.tokens_file):
                    raise ValueError(f"{name} must be set (or IVR_TOKENS_FILE given) in production")
            if not self.validate_signatures:
                raise ValueError("IVR_VALIDATE_SIGNATURES cannot be off in production")
            if not self.public_base_url:
                raise ValueError("IVR_PUBLIC_BASE_URL is required in production")
        return self

    @property
    def rest_enabled(self) -> bool:
        """Whether real Twilio REST credentials are configured."""
        return bool(self.twilio_account_sid) and self.twilio_auth_token != "dev-auth-token"

"""Service settings from environment variables (prefix ``IVR_``), via pydantic-settings."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development defaults, public on purpose: production refuses every one of them.
DEV_SEAT_SECRET = "dev-seat-secret-change-me"  # noqa: S105
DEV_ADMIN_TOKEN = "dev-admin-token"  # noqa: S105
DEV_MONITOR_TOKEN = "dev-monitor-token"  # noqa: S105
DEV_AUTH_TOKEN = "dev-auth-token"  # noqa: S105
DEV_SECRETS = (DEV_SEAT_SECRET, DEV_ADMIN_TOKEN, DEV_MONITOR_TOKEN, DEV_AUTH_TOKEN)
SHIPPED_BACKUP_NUMBER = "+8612345000000"
MIN_SECRET_CHARS = 32  # a Twilio auth token is 32 hex characters
MIN_DISTINCT_CHARS = 10
E164 = re.compile(r"^\+[1-9]\d{7,14}$")
SIP_URI = re.compile(r"^sips?:[^\s@]+@[^\s@]+$")


def secret_problem(value: str) -> str | None:
    """Why ``value`` may not be a production secret, or None; never quotes the value."""
    if value != value.strip() or any(c.isspace() for c in value):
        return "contains spaces"
    if any(dev in value.lower() for dev in DEV_SECRETS):
        return "contains a development default"
    if len(value) < MIN_SECRET_CHARS:
        return f"is under {MIN_SECRET_CHARS} characters"
    if len(set(value)) < MIN_DISTINCT_CHARS:
        return f"has fewer than {MIN_DISTINCT_CHARS} different characters"
    return None


def token_list_problems(name: str, raw: str) -> list[str]:
    """Problems of a comma-separated token setting (every position is checked)."""
    items = raw.split(",")
    out = []
    for n, item in enumerate(items, 1):
        where = f"{name} (token {n} of {len(items)})" if len(items) > 1 else name
        problem = "is empty (a stray comma?)" if not item else secret_problem(item)
        if problem:
            out.append(f"{where} {problem}")
    return out


def tokens_file_problems(path: Path) -> list[str]:
    """Problems of the ``IVR_TOKENS_FILE`` secrets file (see ``ivr.web.roles``)."""
    try:
        doc: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        return [f"IVR_TOKENS_FILE cannot be read: {type(exc).__name__}"]
    if not isinstance(doc, dict):
        return ["IVR_TOKENS_FILE must map roles (admin, monitor) to lists of tokens"]
    out = [f"IVR_TOKENS_FILE: unknown role {str(k)[:20]!r}" for k in doc if k not in ("admin", "monitor")]
    dev_digests = {hashlib.sha256(d.encode()).hexdigest() for d in DEV_SECRETS}
    for role in ("admin", "monitor"):
        for n, item in enumerate(doc.get(role) or [], 1):
            where = f"IVR_TOKENS_FILE: {role} entry {n}"
            item = item if isinstance(item, dict) else {}
            digest, token = str(item.get("sha256") or ""), str(item.get("token") or "")
            if digest:
                if not re.fullmatch(r"[0-9a-fA-F]{64}", digest):
                    out.append(f"{where}: sha256 is not 64 hex digits")
                elif digest.lower() in dev_digests:
                    out.append(f"{where}: sha256 is the digest of a development default")
            elif token:
                problem = secret_problem(token)
                if problem:
                    out.append(f"{where}: token {problem}")
            else:
                out.append(f"{where}: needs a sha256 or a token")
    return out


class Settings(BaseSettings):
    """Everything the service reads from its environment; see docs/operations.md "Settings"."""

    # hide_input_in_errors: a refusal must never print the secrets it was given
    model_config = SettingsConfigDict(env_prefix="IVR_", env_file=".env", extra="ignore",
                                      hide_input_in_errors=True)

    env: Literal["development", "production"] = "development"
    center: str = Field("default", pattern=r"^[A-Za-z0-9_-]{1,32}$")
    redis_url: str | None = None
    redis_cluster: bool = False
    data_dir: Path = Path(".ivr-data")
    config_dir: Path = Path(".")
    public_base_url: str | None = None
    validate_signatures: bool = True
    twilio_account_sid: str | None = None
    twilio_auth_token: str = DEV_AUTH_TOKEN
    backup_number: str = SHIPPED_BACKUP_NUMBER
    jambonz_webhook_secret: str = ""  # the jambonz application's webhook secret (Jambonz-Signature)
    # jambonz REST API (redirects, callbacks, warm transfers of calls on jambonz); all three
    # or none: without them a jambonz caller connects at its next hold-loop turn
    jambonz_api_url: str | None = None  # https://jambonz.example/v1 (the /v1 may be left out)
    jambonz_account_sid: str | None = None
    jambonz_api_key: str = ""  # a jambonz API key (Bearer), secret
    # the platform of calls the service places itself (queued callbacks) unless the line names
    # one (``dialect:`` in numbers/plan.yaml); a call that came in keeps its own platform
    dialect: Literal["twilio", "jambonz"] = "twilio"
    seat_secret: str = DEV_SEAT_SECRET
    admin_token: str = DEV_ADMIN_TOKEN
    monitor_token: str = DEV_MONITOR_TOKEN
    tokens_file: Path | None = None
    max_body_bytes: int = Field(256 * 1024, ge=1024)
    metrics_token: str = ""  # bearer token of /metrics
    public_metrics: bool | None = None  # /metrics without a token; unset: only in development
    # without a metrics token
    public_docs: bool | None = None  # /docs, /redoc, /openapi.json; unset: only in development
    short_abandon_seconds: float = Field(5.0, ge=0, le=60)
    rate_limit_calls: int = Field(6, ge=0)  # calls one number may make per window; 0 = off
    rate_limit_window_seconds: float = Field(60.0, gt=0)
    stale_call_seconds: float = Field(6 * 3600, ge=600)  # end calls with no status callback
    reconcile_after_seconds: float = Field(120.0, ge=10)  # ask the platform about calls this old
    reconcile_every_seconds: float = Field(60.0, ge=5)  # ... at most this often each
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
    # the archive of call records and seat intervals (ivr/archive); see docs/monitoring.md
    database_url: str | None = None  # postgresql+asyncpg://...; unset = SQLite in data_dir
    archive: bool = True  # run the archive consumer in every worker
    archive_stream_cap: int = Field(500_000, ge=0)  # events kept in Redis (XADD MAXLEN ~); 0 = off
    archive_batch: int = Field(2000, ge=1, le=50_000)  # events per database transaction
    archive_claim_idle_seconds: float = Field(60.0, gt=0)  # take over a dead consumer's events
    archive_lag_alert_seconds: float = Field(120.0, gt=0)  # alert: oldest unarchived event older
    archive_retention_days: int = Field(3650, ge=1)  # call records and seat intervals are kept
    archive_caller_days: int = Field(365, ge=1)  # then even the masked caller number is erased

    @model_validator(mode="after")
    def _refuse_dev_secrets(self) -> Settings:
        if self.env == "production":
            problems = self.production_problems()
            if problems:
                raise ValueError("refused in production: " + "; ".join(problems))
        return self

    def production_problems(self) -> list[str]:
        """Everything that keeps these settings from running in production (no secret quoted)."""
        out = []
        secrets = [("IVR_SEAT_SECRET", self.seat_secret),
                   ("IVR_TWILIO_AUTH_TOKEN", self.twilio_auth_token)]
        if self.jambonz_webhook_secret:  # empty: /jambonz/ webhooks refuse every request
            secrets.append(("IVR_JAMBONZ_WEBHOOK_SECRET", self.jambonz_webhook_secret))
        if self.jambonz_api_url or self.jambonz_api_key or self.jambonz_account_sid:
            secrets.append(("IVR_JAMBONZ_API_KEY", self.jambonz_api_key))
        for name, value in secrets:
            problem = secret_problem(value)
            if problem:
                out.append(f"{name} {problem}")
        for name, raw in (("IVR_ADMIN_TOKEN", self.admin_token),
                          ("IVR_MONITOR_TOKEN", self.monitor_token)):
            if raw or not self.tokens_file:
                out += token_list_problems(name, raw)
        if self.metrics_token:
            out += token_list_problems("IVR_METRICS_TOKEN", self.metrics_token)
        if self.tokens_file:
            out += tokens_file_problems(self.tokens_file)
        out += self._jambonz_problems()
        if not self.validate_signatures:
            out.append("IVR_VALIDATE_SIGNATURES cannot be off")
        if not self.public_base_url:
            out.append("IVR_PUBLIC_BASE_URL is required")
        if not E164.match(self.callback_from):
            out.append("IVR_CALLBACK_FROM must be the E.164 number callbacks come from "
                       "(like +8657112345678; not a short code)")
        if self.backup_number == SHIPPED_BACKUP_NUMBER:
            out.append("IVR_BACKUP_NUMBER is the shipped example: set the real backup line")
        elif not (E164.match(self.backup_number) or SIP_URI.match(self.backup_number)):
            out.append("IVR_BACKUP_NUMBER must be an E.164 number or a sip: URI")
        return out

    def _jambonz_problems(self) -> list[str]:
        """The jambonz REST settings go together; a jambonz deployment needs them and its secret."""
        out = []
        given = [self.jambonz_api_url, self.jambonz_account_sid, self.jambonz_api_key]
        if any(given) and not all(given):
            out.append("IVR_JAMBONZ_API_URL, IVR_JAMBONZ_ACCOUNT_SID and IVR_JAMBONZ_API_KEY "
                       "go together: set all three or none")
        if self.jambonz_api_url and not re.match(r"^https?://[^\s/]+", self.jambonz_api_url):
            out.append("IVR_JAMBONZ_API_URL must be an http(s) URL")
        if self.dialect == "jambonz":
            if not self.jambonz_webhook_secret:
                out.append("IVR_DIALECT is jambonz: IVR_JAMBONZ_WEBHOOK_SECRET is required")
            if not all(given):
                out.append("IVR_DIALECT is jambonz: the jambonz REST settings are required "
                           "(IVR_JAMBONZ_API_URL, IVR_JAMBONZ_ACCOUNT_SID, IVR_JAMBONZ_API_KEY)")
        return out

    @property
    def docs_open(self) -> bool:
        """Whether /docs, /redoc and /openapi.json are served (IVR_PUBLIC_DOCS)."""
        return self.public_docs if self.public_docs is not None else self.env == "development"

    @property
    def metrics_open(self) -> bool:
        """Whether /metrics answers without a token (IVR_PUBLIC_METRICS)."""
        if self.public_metrics is not None:
            return self.public_metrics
        return self.env == "development" and not self.metrics_token

    @property
    def rest_enabled(self) -> bool:
        """Whether real Twilio REST credentials are configured."""
        return bool(self.twilio_account_sid) and self.twilio_auth_token != DEV_AUTH_TOKEN

    @property
    def jambonz_rest_enabled(self) -> bool:
        """Whether the jambonz REST API is configured (URL, account and API key)."""
        return bool(self.jambonz_api_url and self.jambonz_account_sid and self.jambonz_api_key)

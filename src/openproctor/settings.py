"""OPENPROCTOR_* settings, validated once at start-up."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from openproctor.detectors.config import DetectorConfig
from openproctor.outbound import OutboundPolicy
from openproctor.smtp import SmtpSettings

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
MIN_SECRET_KEY_LENGTH = 32


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"
    TEST = "test"


class SettingsError(Exception):
    """Settings that cannot start the service; the message says what to fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="OPENPROCTOR_", env_nested_delimiter="__", extra="forbid"
    )

    env: Environment = Field(
        default=Environment.DEVELOPMENT,
        title="Environment",
        description="development, production or test. Production refuses generated secrets.",
    )
    data_dir: Path = Field(
        default=Path("data"),
        title="Data directory",
        description="Holds the SQLite database, local storage, models and the development secret.",
    )
    database_url: str = Field(
        default="",
        title="Database URL",
        description="SQLAlchemy URL; empty means sqlite:///DATA_DIR/openproctor.db.",
    )
    storage_url: str = Field(
        default="",
        title="Storage URL",
        description="file:///path or s3://bucket/prefix; empty means DATA_DIR/storage.",
    )
    s3_endpoint_url: str = Field(
        default="",
        title="S3 endpoint URL",
        description="For S3-compatible servers (MinIO, Ceph, Garage...), e.g. "
        "http://127.0.0.1:9000; empty uses AWS (or AWS_ENDPOINT_URL).",
    )
    s3_region: str = Field(
        default="",
        title="S3 region",
        description="Empty uses AWS_DEFAULT_REGION or ~/.aws, else us-east-1.",
    )
    s3_access_key_id: str = Field(
        default="",
        title="S3 access key id",
        description="Empty uses boto3's usual sources (AWS_ACCESS_KEY_ID, ~/.aws, roles).",
    )
    s3_secret_access_key: SecretStr = Field(
        default=SecretStr(""),
        title="S3 secret access key",
        description="Empty uses boto3's usual sources (AWS_SECRET_ACCESS_KEY, ~/.aws, roles).",
    )
    redis_url: str = Field(
        default="",
        title="Redis URL",
        description="redis://host:port/db for scale-out; empty runs everything in one process.",
    )
    secret_key: str = Field(
        default="",
        title="Secret key",
        description="Signs tokens. Empty in development: generated once and kept in DATA_DIR.",
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        title="Public URL",
        description="Base URL that invite links and the demo print.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default=["127.0.0.1", "::1"],
        title="Trusted reverse proxies",
        description="Addresses and networks (CIDR), comma-separated, or *, whose "
        "X-Forwarded-For/-Proto are believed: the client address (login limits, logs) comes "
        "from them. List a proxy on another host, or every client shares its address.",
    )
    max_body_bytes: Annotated[int, Field(gt=0)] = Field(
        default=5 * 1024 * 1024,
        title="Largest request body",
        description="Bodies above this are refused with 413.",
    )
    login_max_failures: Annotated[int, Field(gt=0)] = Field(
        default=5,
        title="Login failures before lock-out",
        description="Failed logins per email since its last success before it is locked "
        "(browsers that signed in to it before pass); a client address gets four times as "
        "many within the window, successes or not.",
    )
    login_window_seconds: Annotated[int, Field(gt=0)] = Field(
        default=15 * 60,
        title="Login lock-out window",
        description="Seconds over which failed logins are counted and the lock-out lasts.",
    )
    # Login throttling that others' failures cannot turn into a lock-out (issue 11).
    login_device_days: Annotated[int, Field(gt=0)] = Field(
        default=90,
        title="Known-device lifetime",
        description="Days a browser that signed in stays a known device of that account: it "
        "still signs in with the right password while the account is locked by failures.",
    )
    session_hours: Annotated[int, Field(gt=0)] = Field(
        default=12,
        title="Staff session lifetime",
        description="Hours a staff login stays valid.",
    )
    # Staff sockets (the proctor wall): how many one account may hold, and how often an open
    # one checks that its sign-in still holds (expiry; changes missed on the bus).
    reconnect_grace_s: Annotated[float, Field(ge=0, le=120)] = Field(
        default=5.0,
        title="Reconnect grace",
        description="Seconds a candidate's page may be gone (a reload: its socket closed by the "
        "page, then opened again) before it counts as away: tab_switch and camera_off then "
        "open from when it left. A reload takes 0.2-1.4 s in Chromium here (README, The live "
        "loop).",
    )
    leader_lease_s: Annotated[float, Field(ge=3, le=600)] = Field(
        default=30.0,
        title="Background leader lease",
        description="Seconds the node running the cluster's background sweeps (retention, "
        "recording assembly) holds their lease; it renews it every third of that. When it "
        "dies, another node takes over within 4/3 of this.",
    )
    staff_sockets_per_user: Annotated[int, Field(gt=0)] = Field(
        default=8,
        title="Staff sockets per user",
        description="Live sockets (proctor walls) one staff account may hold open on one web "
        "node; the next is refused with close code 4430.",
    )
    staff_session_check_seconds: Annotated[float, Field(ge=0.1)] = Field(
        default=30.0,
        title="Staff socket sign-in check",
        description="Seconds between checks, by each open staff socket, that its sign-in still "
        "holds (and one at its expiry). Sign-outs and account changes, announced on the bus, "
        "close sockets at once; this catches what the bus lost.",
    )

    # Chat between a candidate and the proctors (issue 13): what a candidate may write.
    chat_max_chars: Annotated[int, Field(ge=1, le=10000)] = Field(
        default=1000,
        title="Chat message length",
        description="Characters a candidate's message may have; a longer one is refused with 422.",
    )
    chat_messages_per_minute: Annotated[int, Field(ge=1)] = Field(
        default=10,
        title="Chat messages per minute",
        description="Messages (hand raised or lowered included) a candidate may send in any "
        "60 s of one session, counted in the database so every web node agrees; the next is "
        "refused with 429.",
    )

    # HTTP server limits and what production exposes (issue 11).
    header_timeout_s: Annotated[float, Field(gt=0, le=300)] = Field(
        default=10.0,
        title="Header read timeout",
        description="Seconds a client has to send a request line and all its headers, from "
        "connecting (or from its next request's first byte); then 408 and the connection "
        "is closed.",
    )
    body_timeout_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=60.0,
        title="Body read timeout",
        description="Seconds a client has to send a request body once its headers are in; "
        "then 408 and the connection is closed. 60 s carries the largest recording chunk at "
        "about 0.6 Mbit/s.",
    )
    keepalive_timeout_s: Annotated[int, Field(gt=0, le=300)] = Field(
        default=5,
        title="Keep-alive timeout",
        description="Seconds an idle keep-alive connection stays open between requests.",
    )
    max_connections: Annotated[int, Field(gt=0)] = Field(
        default=2048,
        title="Concurrency limit",
        description="Open connections (sockets included) or requests in progress above which "
        "new requests get 503. Keep it under the process's open-file limit (ulimit -n).",
    )
    metrics_token: SecretStr = Field(
        default=SecretStr(""),
        title="Metrics bearer token",
        description="When set, /metrics needs Authorization: Bearer <token>. In production "
        "/metrics is off (404) until it is set.",
    )
    api_docs: bool | None = Field(
        default=None,
        title="API documentation",
        description="Serve /api/docs (Swagger UI), /api/redoc (ReDoc) and /api/v1/openapi.json. "
        "Default: on, except in production.",
    )

    # Disk space: below this the node says it is not ready, before writes start failing.
    min_free_bytes: Annotated[int, Field(ge=0)] = Field(
        default=1024**3,
        title="Least free space",
        description="Bytes that must stay free on the local storage's disk and the data "
        "directory's; below it /readyz answers 503 (not applicable to S3 storage). 0 turns "
        "the check off.",
    )

    detectors: DetectorConfig = Field(
        default_factory=DetectorConfig,
        title="Detectors",
        description="Which models run and their thresholds, e.g. "
        "OPENPROCTOR_DETECTORS__IDENTITY__MAX_DISTANCE=0.5.",
    )
    analysis_workers: Annotated[int, Field(ge=0, le=64)] = Field(
        default_factory=lambda: max(1, os.cpu_count() or 1),
        title="Analysis worker processes",
        description="Processes that run the models, each with its own copy (default: one a "
        "core). 0 runs no analysis: frames are counted as skipped.",
    )
    # A job that overruns this is stuck (or under attack): its worker is killed and replaced.
    analysis_job_timeout_s: Annotated[float, Field(gt=0, le=600)] = Field(
        default=30.0,
        title="Analysis job time limit",
        description="Seconds an analysis job (a frame, an enrolment photo, an audio chunk) may "
        "take, not counting model loading. A local worker is timed from when the job is handed "
        "to it (it has at most one job before it); one that overruns is killed and replaced by "
        "a fresh process and the frame counted as skipped. An `openproctor worker` (Redis) that "
        "overruns exits with status 3 for its supervisor to restart; its job goes to at most one "
        "other worker.",
    )

    # --- live video (WebRTC, issue 13): how browsers reach each other, and what one candidate's
    # uplink carries. Media goes browser to browser (or through TURN), never through this server.
    ice_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        title="ICE servers",
        description="STUN and TURN URLs the browsers use to connect live video, comma-separated "
        "(e.g. stun:turn.example.org:3478,turn:turn.example.org:3478?transport=udp). Empty: "
        "direct connections only, enough on one network.",
    )
    turn_secret: SecretStr = Field(
        default=SecretStr(""),
        title="TURN shared secret",
        description="coturn's static-auth-secret: each page gets a TURN username and password "
        "made from it (the TURN REST API scheme), valid for turn_ttl_seconds. Needed when "
        "ice_servers lists a turn: URL.",
    )
    turn_ttl_seconds: Annotated[int, Field(ge=60, le=86400)] = Field(
        default=6 * 3600,
        title="TURN credential lifetime",
        description="Seconds a minted TURN password stays valid; open pages get a new one at "
        "half this age.",
    )
    ice_relay_only: bool = Field(
        default=False,
        title="Live video through TURN only",
        description="Browsers connect only through the TURN relay (iceTransportPolicy relay): "
        "staff and candidates never learn each other's addresses. Needs a turn: URL.",
    )
    live_viewer_budget: Annotated[int, Field(ge=1)] = Field(
        default=8,
        title="Live viewers per candidate",
        description="How much live video one candidate sends at once, in wall tiles: a tile "
        "costs 1 and a close (full-rate) view 4, whoever watches (proctor, admin, reviewer). "
        "Viewers beyond it are refused and see the analysed pictures instead.",
    )

    smtp: SmtpSettings = Field(
        default_factory=SmtpSettings,
        title="Mail server",
        description="Where invitations and reminders are sent from, e.g. "
        "OPENPROCTOR_SMTP__HOST=mail.example.org, OPENPROCTOR_SMTP__FROM=exams@example.org.",
    )

    # --- outbound requests: webhooks, exam completion callbacks, LTI platform key sets ---
    outbound_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        title="Internal receivers allowed",
        description="Host names, addresses and networks (CIDR), comma-separated, that "
        "webhook, callback and LTI key-set URLs may reach although they are not public "
        "(e.g. hooks.internal,10.20.0.0/16). Empty: public addresses only.",
    )

    @field_validator("outbound_allow", "ice_servers", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [entry for entry in re.split(r"[,\s]+", value) if entry]
        return value

    @field_validator("outbound_allow")
    @classmethod
    def _known_allow(cls, value: list[str]) -> list[str]:
        OutboundPolicy.from_entries(value)  # raises naming a bad entry
        return value

    @field_validator("ice_servers")
    @classmethod
    def _known_ice(cls, value: list[str]) -> list[str]:
        for url in value:
            if url.split(":", 1)[0] not in ("stun", "stuns", "turn", "turns"):
                raise ValueError(f"{url!r} is not a stun:, stuns:, turn: or turns: URL")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _known_proxies(cls, value: list[str]) -> list[str]:
        for entry in value:
            if entry != "*":
                try:
                    ipaddress.ip_network(entry)
                except ValueError:
                    message = f"{entry!r} is not an address, a network (CIDR) or *"
                    raise ValueError(message) from None
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must start with sqlite:// or postgresql://")
        return value

    @field_validator("storage_url")
    @classmethod
    def _known_storage(cls, value: str) -> str:
        if value and not value.startswith(("file://", "s3://")):
            raise ValueError("must start with file:// or s3://")
        return value

    @field_validator("s3_endpoint_url")
    @classmethod
    def _known_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("redis_url")
    @classmethod
    def _known_redis(cls, value: str) -> str:
        if value and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @model_validator(mode="after")
    def _turn_secret(self) -> Settings:
        turn = [url for url in self.ice_servers if url.startswith(("turn:", "turns:"))]
        if self.ice_relay_only and not turn:
            raise ValueError("OPENPROCTOR_ICE_RELAY_ONLY needs a turn: URL in ICE_SERVERS")
        if turn and not self.turn_secret.get_secret_value():
            raise ValueError(
                "OPENPROCTOR_ICE_SERVERS lists a TURN URL: set OPENPROCTOR_TURN_SECRET "
                "(coturn's static-auth-secret)"
            )
        return self

    @model_validator(mode="after")
    def _production_secret(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            if len(self.secret_key) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    "OPENPROCTOR_SECRET_KEY must be set to at least "
                    f"{MIN_SECRET_KEY_LENGTH} random characters when OPENPROCTOR_ENV=production"
                )
            if not self.public_url.startswith("https://"):
                raise ValueError("OPENPROCTOR_PUBLIC_URL must be https:// in production")
            metrics_token = self.metrics_token.get_secret_value()
            if metrics_token and len(metrics_token) < MIN_SECRET_KEY_LENGTH:
                raise ValueError(
                    "OPENPROCTOR_METRICS_TOKEN must be at least "
                    f"{MIN_SECRET_KEY_LENGTH} random characters when OPENPROCTOR_ENV=production"
                )
        return self

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir.resolve() / 'openproctor.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or (self.data_dir.resolve() / "storage").as_uri()

    @property
    def outbound_policy(self) -> OutboundPolicy:
        return OutboundPolicy.from_entries(self.outbound_allow)

    @property
    def api_docs_served(self) -> bool:
        return self.api_docs if self.api_docs is not None else self.env != Environment.PRODUCTION

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")


def load_settings(**overrides: object) -> Settings:
    """Read the environment, fill the development secret, and fail with one clear message."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        raise SettingsError(_describe(error)) from None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if not settings.secret_key:
        settings.secret_key = _persisted_secret(settings.data_dir)
    return settings


def _describe(error: ValidationError) -> str:
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"])
        name = f"OPENPROCTOR_{field.upper()}" if field else "settings"
        problems.append(f"{name}: {item['msg']}")
    return "invalid settings: " + "; ".join(problems)


def _persisted_secret(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    secret = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secret)
    return secret

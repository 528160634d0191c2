"""Settings every service shares; each service subclasses it with its own env prefix."""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.contract.events import Topic

_SECRET_HINTS = ("url", "secret", "password", "key", "token")


def _explain(prefix: str, error: ErrorDetails) -> str:
    if not error["loc"]:
        return f"invalid settings ({prefix}*): {error['msg']}"
    name = "_".join(map(str, error["loc"]))
    shown = "" if any(hint in name for hint in _SECRET_HINTS) else f"={error['input']!r}"
    return f"invalid setting {prefix.upper()}{name.upper()}{shown}: {error['msg']}"


class KafkaSecurity(StrEnum):
    """How a service connects to the brokers (Kafka's ``security.protocol``)."""

    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_PLAINTEXT = "SASL_PLAINTEXT"
    SASL_SSL = "SASL_SSL"


class ServiceSettings(BaseSettings):
    """Validated at start: a bad value stops the service with a message naming the variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    http_reuse_port: bool = Field(
        default=False,
        description="Bind the port with SO_REUSEPORT, so that several instances on one host serve it and the kernel "
        "spreads connections among them (each instance is whole: its own /metrics and rate limits)",
    )
    http_keep_alive_seconds: float = Field(
        default=75.0,
        gt=0,
        le=3600,
        description="How long an idle HTTP connection is kept open. Longer than clients and proxies keep theirs "
        "(60 s is common), so that they close it first: a server closing it races a request sent on it meanwhile, "
        "which the client sees as a reset connection",
    )
    database_url: str = Field(default="sqlite+aiosqlite:///./var/service.db", min_length=1)
    kafka_bootstrap: str = Field(default="127.0.0.1:19092", min_length=3)
    kafka_request_timeout_ms: int = Field(default=5000, ge=1000, le=120_000)
    kafka_producer_batch_bytes: int = Field(
        default=524_288,
        ge=16_384,
        le=16_777_216,
        description="Bytes of records a producer gathers for one partition before it sends them; at most the "
        "broker's message.max.bytes (1 MiB by default)",
    )
    kafka_security_protocol: KafkaSecurity = KafkaSecurity.PLAINTEXT
    kafka_sasl_mechanism: str = Field(default="SCRAM-SHA-512", pattern=r"^(SCRAM-SHA-256|SCRAM-SHA-512|PLAIN)$")
    kafka_sasl_username: str | None = Field(default=None, min_length=1, max_length=255)
    kafka_sasl_password: SecretStr | None = Field(default=None, description="Prefer kafka_sasl_password_file")
    kafka_sasl_password_file: Path | None = Field(default=None, description="File holding the SASL password")
    kafka_ssl_cafile: Path | None = Field(default=None, description="PEM CA bundle the brokers' certificates chain to")
    kafka_ssl_certfile: Path | None = Field(default=None, description="PEM client certificate (mutual TLS)")
    kafka_ssl_keyfile: Path | None = Field(default=None, description="PEM private key of kafka_ssl_certfile")
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    topic_replication: int = Field(default=1, ge=1, le=7)
    consumer_max_retries: int = Field(default=5, ge=0, le=100)
    consumer_retry_backoff_ms: int = Field(default=200, ge=1, le=60_000)
    consumer_batch_max: int = Field(
        default=100, ge=1, le=1000, description="Records of a fetch handled in one transaction; 1: each alone"
    )
    consumer_batch_ms: float = Field(
        default=20.0, ge=0, le=10_000, description="A batch takes no new record once it is this old"
    )
    consumer_fetch_wait_ms: int = Field(
        default=100,
        ge=0,
        le=500,
        description="How long the broker may hold a fetch to gather records (it answers at once when "
        "CONSUMER_FETCH_MIN_BYTES have come): fewer, larger batches under load; 0 answers every record at once",
    )
    consumer_fetch_min_bytes: int = Field(default=65_536, ge=1, le=52_428_800)
    outbox_poll_ms: int = Field(default=500, ge=10, le=60_000)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_lease_seconds: float = Field(
        default=10.0, ge=1, le=600, description="How long another instance waits before taking over the outbox relay"
    )
    startup_retry_seconds: float = Field(default=2.0, gt=0, le=60)
    startup_database_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=300)
    lag_sample_seconds: float = Field(
        default=15.0, ge=0, le=3600, description="How often sw_consumer_lag is measured; 0 turns it off"
    )
    gc_young_threshold: int = Field(
        default=50_000,
        ge=100,
        le=10_000_000,
        description="Container objects allocated (net) between young collections of Python's cyclic garbage "
        "collector; Python's own is 700 (see services/contract/collector.py)",
    )
    gc_freeze_after_start: bool = Field(
        default=True, description="Once started, keep the objects start-up built out of the collector's reach"
    )
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    otlp_endpoint: AnyHttpUrl | None = Field(
        default=None, description="OTLP/HTTP collector (spans go to its /v1/traces); none: tracing off"
    )

    @field_validator("otlp_endpoint", mode="before")
    @classmethod
    def _empty_endpoint_is_none(cls, value: object) -> object:
        return None if value == "" else value  # SW_..._OTLP_ENDPOINT= turns tracing off, as unset does

    @model_validator(mode="after")
    def _kafka_credentials(self) -> Self:
        sasl = self.kafka_security_protocol in (KafkaSecurity.SASL_PLAINTEXT, KafkaSecurity.SASL_SSL)
        has_password = self.kafka_sasl_password is not None or self.kafka_sasl_password_file is not None
        if sasl and (self.kafka_sasl_username is None or not has_password):
            raise ValueError(f"{self.kafka_security_protocol} needs kafka_sasl_username and a password (or its file)")
        if self.kafka_sasl_password is not None and self.kafka_sasl_password_file is not None:
            raise ValueError("set kafka_sasl_password or kafka_sasl_password_file, not both")
        files = (self.kafka_sasl_password_file, self.kafka_ssl_cafile, self.kafka_ssl_certfile, self.kafka_ssl_keyfile)
        for path in files:
            if path is not None and not path.is_file():
                raise ValueError(f"{path} is not a readable file")
        if (self.kafka_ssl_certfile is None) != (self.kafka_ssl_keyfile is None):
            raise ValueError("kafka_ssl_certfile and kafka_ssl_keyfile go together")
        return self

    def kafka_password(self) -> str | None:
        """The SASL password, read from its file each time a client is made (a rotated file counts from then)."""
        if self.kafka_sasl_password_file is not None:
            return self.kafka_sasl_password_file.read_text().strip()
        return None if self.kafka_sasl_password is None else self.kafka_sasl_password.get_secret_value()

    def topic(self, topic: Topic) -> str:
        return f"{self.topic_prefix}{topic.value}"

    def dead_letter_topic(self, topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def load(cls, env_prefix: str | None = None, **values: Any) -> Self:
        """Build from the environment (and `values`), or exit with one line per bad variable.

        A bad value is echoed unless its field may hold a secret (URLs with passwords, keys, tokens).
        `env_prefix` reads another service's variables (e.g. ``SW_CUSTOMS_``) into these shared settings.
        """
        prefix = env_prefix if env_prefix is not None else str(cls.model_config.get("env_prefix", ""))
        try:
            return cls(_env_prefix=prefix, **values)
        except ValidationError as exc:
            lines = [_explain(prefix, error) for error in exc.errors()]
            sys.stderr.write("\n".join(lines) + "\n")
            raise SystemExit(2) from None


class AgencySettings(ServiceSettings):
    """Settings of a service that has no business endpoints, only its operations endpoints (customs, phyto)."""

    ops_token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token that /health, /ready and /metrics then require; unset: public",
    )

    @model_validator(mode="after")
    def _ops_token_readable(self) -> Self:
        if self.ops_token_file is not None and not self.ops_token_file.is_file():
            raise ValueError(f"ops_token_file: {self.ops_token_file} is not a readable file")
        return self

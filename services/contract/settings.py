"""Settings every service shares; each service subclasses it with its own env prefix."""

import sys
from typing import Self

from pydantic import Field, ValidationError
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


class ServiceSettings(BaseSettings):
    """Validated at start: a bad value stops the service with a message naming the variable."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "service"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=1, le=65535)
    database_url: str = Field(default="sqlite+aiosqlite:///./var/service.db", min_length=1)
    kafka_bootstrap: str = Field(default="127.0.0.1:19092", min_length=3)
    kafka_request_timeout_ms: int = Field(default=5000, ge=1000, le=120_000)
    topic_prefix: str = Field(default="", pattern=r"^[A-Za-z0-9._-]*$")
    topic_partitions: int = Field(default=3, ge=1, le=1000)
    topic_replication: int = Field(default=1, ge=1, le=7)
    consumer_max_retries: int = Field(default=5, ge=0, le=100)
    consumer_retry_backoff_ms: int = Field(default=200, ge=1, le=60_000)
    outbox_poll_ms: int = Field(default=500, ge=10, le=60_000)
    outbox_batch_size: int = Field(default=200, ge=1, le=10_000)
    relay_lease_seconds: float = Field(
        default=10.0, ge=1, le=600, description="How long another instance waits before taking over the outbox relay"
    )
    startup_retry_seconds: float = Field(default=2.0, gt=0, le=60)
    startup_database_timeout_seconds: float = Field(default=60.0, gt=0, le=3600)
    shutdown_grace_seconds: float = Field(default=10.0, gt=0, le=300)
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")

    def topic(self, topic: Topic) -> str:
        return f"{self.topic_prefix}{topic.value}"

    def dead_letter_topic(self, topic: str) -> str:
        return f"{topic}.dlq"

    @classmethod
    def load(cls) -> Self:
        """Build from the environment, or exit with one line per bad variable.

        A bad value is echoed unless its field may hold a secret (URLs with passwords, keys, tokens).
        """
        try:
            return cls()
        except ValidationError as exc:
            prefix = str(cls.model_config.get("env_prefix", ""))
            lines = [_explain(prefix, error) for error in exc.errors()]
            sys.stderr.write("\n".join(lines) + "\n")
            raise SystemExit(2) from None

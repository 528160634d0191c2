"""Gateway settings, from SW_GATEWAY_* environment variables."""

from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from services.contract.settings import ServiceSettings

DATA = Path(__file__).parent / "data"


class GatewaySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SW_GATEWAY_", extra="ignore", frozen=True)

    service_name: str = "gateway"
    http_port: int = Field(default=8080, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/gateway.db"
    routing_table: Path = DATA / "routing.yaml"
    environment: str = Field(default="production", pattern=r"^(production|development)$")
    dev_keys_file: Path | None = Field(default=None, description="Seed these API keys at start (development only)")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=64 * 1_048_576)
    outbox_max_backlog: int = Field(
        default=50_000, ge=1, description="Above this many unpublished events, submissions get 503 and Retry-After"
    )

    @model_validator(mode="after")
    def _dev_keys_only_in_development(self) -> "GatewaySettings":
        if self.dev_keys_file is not None and self.environment != "development":
            raise ValueError("dev_keys_file is only allowed with SW_GATEWAY_ENVIRONMENT=development")
        return self

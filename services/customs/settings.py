"""Customs settings, from SW_CUSTOMS_* environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.contract.settings import ServiceSettings

DATA = Path(__file__).parent / "data"


class CustomsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SW_CUSTOMS_", extra="ignore", frozen=True)

    service_name: str = "customs"
    http_port: int = Field(default=8081, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/customs.db"
    risk_profile: Path = DATA / "risk-profile.yaml"

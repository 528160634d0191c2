"""Customs settings, from SW_CUSTOMS_* environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.contract.settings import AgencySettings

DATA = Path(__file__).parent / "data"


class CustomsSettings(AgencySettings):
    model_config = SettingsConfigDict(env_prefix="SW_CUSTOMS_", extra="ignore", frozen=True)

    service_name: str = "customs"
    http_port: int = Field(default=8081, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/customs.db"
    risk_profile: Path = DATA / "risk-profile.yaml"
    tariff: Path = DATA / "tariff.yaml"
    exchange_rates: Path = DATA / "exchange-rates.yaml"
    trader_register: Path = DATA / "trader-register.yaml"
    watch_lists: Path = DATA / "watch-lists.yaml"
    selectivity_key: SecretStr | None = Field(
        default=None, description="Secret keying random selection (at least 16 characters); else the key file"
    )
    selectivity_key_file: Path = Field(
        default=Path("var/customs-selectivity.key"),
        description="Read when no key is set; created with a random key when missing. Share it between instances.",
    )

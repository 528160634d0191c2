"""Plant-health settings, from SW_PHYTO_* environment variables."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.contract.settings import ServiceSettings

DATA = Path(__file__).parent / "data"


class PhytoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="SW_PHYTO_", extra="ignore", frozen=True)

    service_name: str = "phyto"
    http_port: int = Field(default=8082, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/phyto.db"
    import_requirements: Path = DATA / "import-requirements.yaml"

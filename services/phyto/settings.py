"""Plant-health settings, from SW_PHYTO_* environment variables."""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict

from services.contract.codes import CountryCode
from services.contract.settings import AgencySettings

DATA = Path(__file__).parent / "data"


class PhytoSettings(AgencySettings):
    model_config = SettingsConfigDict(env_prefix="SW_PHYTO_", extra="ignore", frozen=True)

    service_name: str = "phyto"
    http_port: int = Field(default=8082, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///./var/phyto.db"
    import_requirements: Path = DATA / "import-requirements.yaml"
    importing_country: CountryCode = Field(
        default="GB", description="The country this border guards: certificates must be addressed to it"
    )
    inspection_key: SecretStr | None = Field(
        default=None, description="Secret keying the inspection draw (at least 16 characters); else the key file"
    )
    inspection_key_file: Path = Field(
        default=Path("var/phyto-inspection.key"),
        description="Read when no key is set; created with a random key when missing. Share it between instances.",
    )

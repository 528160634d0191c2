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
    ops_public: bool = Field(
        default=True, description="/health, /ready and /metrics answer anyone; false: operator keys only"
    )
    rate_limit_per_second: float = Field(
        default=50.0, gt=0, description="Requests per second one API key may sustain, per gateway instance"
    )
    rate_limit_burst: int = Field(default=100, ge=1, description="Requests one API key may make at once above the rate")
    failed_keys_per_minute: float = Field(
        default=30.0, gt=0, description="Requests with an unknown API key one client address may make per minute"
    )
    failed_keys_burst: int = Field(default=20, ge=1, description="Unknown-key requests one address may make at once")
    audit_seal_ms: int = Field(default=1000, ge=10, description="How often new audit records are chained and anchored")
    outbox_max_backlog: int = Field(
        default=50_000, ge=1, description="Above this many unpublished events, submissions get 503 and Retry-After"
    )
    fast_lodging: bool = Field(
        default=True,
        description="An ordinary JSON declaration, and an ordinary certificate (XML or JSON), is submitted on a fast "
        "path beside FastAPI's (same answers); false: every request goes through the routes",
    )

    webhook_allowed_hosts: list[str] = Field(
        default_factory=list,
        description='Hosts webhooks may point to (JSON list; "*.example.org" allows its subdomains). Empty: none',
    )
    webhook_allowed_schemes: list[str] = Field(default=["https"], description="URL schemes webhooks may use")
    webhooks_per_key: int = Field(default=10, ge=1, le=100)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    webhook_retry_base_seconds: float = Field(default=2.0, gt=0, description="First wait after a failure; doubles")
    webhook_retry_max_seconds: float = Field(default=600.0, gt=0, description="Longest wait between attempts")
    webhook_max_attempts: int = Field(
        default=15, ge=1, description="Attempts per delivery before it is abandoned (the feed keeps the notice)"
    )
    webhook_disable_after_failures: int = Field(
        default=10, ge=1, description="A webhook is disabled when this many attempts fail within the window"
    )
    webhook_failure_window_seconds: float = Field(default=3600.0, gt=0)
    webhook_poll_ms: int = Field(default=500, ge=10, description="How often due deliveries are looked for")
    sse_poll_ms: int = Field(default=500, ge=10, description="How often an event stream looks for new notices")
    sse_heartbeat_seconds: float = Field(default=15.0, gt=0, description="Comment lines that keep streams open")

    peer_health_urls: dict[str, str] = Field(
        default={"customs": "http://127.0.0.1:8081/health", "phyto": "http://127.0.0.1:8082/health"},
        description="The /health of each other service, shown on the operator dashboard (JSON object)",
    )
    peer_ops_token_file: Path | None = Field(
        default=None,
        description="File holding the bearer token the peers' operations endpoints require (their OPS_TOKEN_FILE)",
    )
    overview_cache_seconds: float = Field(
        default=5.0, ge=0, le=300, description="How long the dashboard's Kafka and health figures are reused"
    )
    release_study_max_days: int = Field(default=366, ge=1, le=3660, description="Longest period one study covers")
    release_study_max_consignments: int = Field(
        default=200_000, ge=1, description="Most declarations one study reads; a busier period must be split"
    )

    hub_url: str | None = Field(
        default=None,
        description="The IPPC ePhyto Hub's DeliveryService endpoint; when set, the gateway pulls certificates from it",
    )
    hub_poll_seconds: float = Field(default=60.0, gt=0, description="How often the Hub is asked for waiting envelopes")
    hub_timeout_seconds: float = Field(default=30.0, gt=0, le=300, description="How long one Hub call may take")
    hub_retry_max_seconds: float = Field(
        default=600.0, gt=0, description="Longest pause between polls while the Hub fails (doubling from the poll)"
    )
    hub_max_envelope_bytes: int = Field(
        default=5_000_000, ge=1024, le=64 * 1_048_576, description="Largest Hub answer (one envelope) read"
    )
    hub_client_certfile: Path | None = Field(
        default=None, description="PEM client certificate the Hub authenticates this NPPO by (with its key file)"
    )
    hub_client_keyfile: Path | None = Field(default=None, description="PEM private key of the client certificate")
    hub_cafile: Path | None = Field(default=None, description="PEM CA bundle the Hub's certificate must chain to")

    @model_validator(mode="after")
    def _hub_client_certificate_with_its_key(self) -> "GatewaySettings":
        if (self.hub_client_certfile is None) != (self.hub_client_keyfile is None):
            raise ValueError("hub_client_certfile and hub_client_keyfile go together: set both or neither")
        return self

    @model_validator(mode="after")
    def _dev_keys_only_in_development(self) -> "GatewaySettings":
        if self.dev_keys_file is not None and self.environment != "development":
            raise ValueError("dev_keys_file is only allowed with SW_GATEWAY_ENVIRONMENT=development")
        return self

    @model_validator(mode="after")
    def _peer_token_readable(self) -> "GatewaySettings":
        if self.peer_ops_token_file is not None and not self.peer_ops_token_file.is_file():
            raise ValueError(f"peer_ops_token_file: {self.peer_ops_token_file} is not a readable file")
        return self

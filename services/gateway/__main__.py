"""Run the gateway: `python -m services.gateway` (settings from SW_GATEWAY_* variables)."""

from services.contract.serve import serve
from services.gateway.bootstrap import bootstrap
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings


def main() -> None:
    serve(GatewaySettings, lambda settings: create_app(bootstrap(settings)))


if __name__ == "__main__":
    main()

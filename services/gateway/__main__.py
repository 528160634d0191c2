"""Run the gateway: `python -m services.gateway` (settings from SW_GATEWAY_* variables).

SIGHUP reloads the routing table; a file that does not load leaves the table in force, and the log says why.
"""

import signal

from fastapi import FastAPI

from services.contract.serve import serve
from services.gateway.bootstrap import bootstrap
from services.gateway.entrypoints.http import create_app
from services.gateway.settings import GatewaySettings


def build(settings: GatewaySettings) -> FastAPI:
    gateway = bootstrap(settings)
    signal.signal(signal.SIGHUP, lambda _signal, _frame: gateway.reload_rules())
    return create_app(gateway)


def main() -> None:
    serve(GatewaySettings, build)


if __name__ == "__main__":
    main()

"""Run the customs service: `python -m services.customs` (settings from SW_CUSTOMS_* variables).

SIGHUP reloads the rule files (risk profile, tariff, exchange rates, trader register, watch lists); files that
do not load leave the rules in force, and the log says why.
"""

import signal

from fastapi import FastAPI

from services.contract.serve import serve
from services.customs.bootstrap import bootstrap
from services.customs.entrypoints.http import create_app
from services.customs.settings import CustomsSettings


def build(settings: CustomsSettings) -> FastAPI:
    customs = bootstrap(settings)
    signal.signal(signal.SIGHUP, lambda _signal, _frame: customs.reload_rules())
    return create_app(customs)


def main() -> None:
    serve(CustomsSettings, build)


if __name__ == "__main__":
    main()

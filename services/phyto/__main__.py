"""Run the plant-health service: `python -m services.phyto` (settings from SW_PHYTO_* variables).

SIGHUP reloads the import requirements; a file that does not load leaves the rules in force, and the log says why.
"""

import signal

from fastapi import FastAPI

from services.contract.serve import serve
from services.phyto.bootstrap import bootstrap
from services.phyto.entrypoints.http import create_app
from services.phyto.settings import PhytoSettings


def build(settings: PhytoSettings) -> FastAPI:
    phyto = bootstrap(settings)
    signal.signal(signal.SIGHUP, lambda _signal, _frame: phyto.reload_rules())
    return create_app(phyto)


def main() -> None:
    serve(PhytoSettings, build)


if __name__ == "__main__":
    main()

"""Run the plant-health service: `python -m services.phyto` (settings from SW_PHYTO_* variables)."""

from services.contract.serve import serve
from services.phyto.bootstrap import bootstrap
from services.phyto.entrypoints.http import create_app
from services.phyto.settings import PhytoSettings


def main() -> None:
    serve(PhytoSettings, lambda settings: create_app(bootstrap(settings)))


if __name__ == "__main__":
    main()

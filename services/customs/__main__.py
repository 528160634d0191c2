"""Run the customs service: `python -m services.customs` (settings from SW_CUSTOMS_* variables)."""

from services.contract.serve import serve
from services.customs.bootstrap import bootstrap
from services.customs.entrypoints.http import create_app
from services.customs.settings import CustomsSettings


def main() -> None:
    serve(CustomsSettings, lambda settings: create_app(bootstrap(settings)))


if __name__ == "__main__":
    main()

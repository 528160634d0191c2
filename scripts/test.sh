#!/usr/bin/env bash
# Runs every test (unit, integration on a real Kafka broker and SQLite, end to end with the services as
# processes). Installs what is missing first. Extra arguments go to pytest, e.g. scripts/test.sh tests/unit
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest --durations=15 "$@"

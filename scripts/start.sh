#!/usr/bin/env bash
# Starts the whole single window on this machine: Kafka, gateway, customs and phyto (SQLite).
# Prints the URLs and the development API keys; Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m deploy.stack "$@"

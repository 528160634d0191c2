#!/usr/bin/env bash
# Installs what the system and its tests need on a fresh machine, once: from Debian when missing, Java,
# Maven, the PostgreSQL server, promtool, Chromium and wrk; a virtualenv with the project and its test tools; the Kafka jars.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages: Java and Maven run the Kafka broker; the PostgreSQL server runs the tests on PostgreSQL;
# promtool (package prometheus) checks deploy/monitoring. The tests use the binaries only; on a host run by
# systemd the package also starts a Prometheus on :9090, which `systemctl disable --now prometheus` stops.
# Chromium runs the dashboard test (Playwright drives Debian's browser; no browser is downloaded).
# wrk is the closed-loop load generator of the ingest benchmark (python -m bench.ingest).
missing=()
command -v java >/dev/null || missing+=(openjdk-17-jre-headless)
command -v mvn >/dev/null || missing+=(maven)
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
command -v promtool >/dev/null || missing+=(prometheus)
command -v chromium >/dev/null || missing+=(chromium)
command -v wrk >/dev/null || missing+=(wrk)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: missing ${missing[*]}; install them (or run as root to apt-get them)" >&2
        exit 1
    fi
    echo "setup: installing ${missing[*]} from Debian ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv with $("$PYTHON" --version)"
    "$PYTHON" -m venv .venv
    .venv/bin/python -m pip install -q --upgrade pip
fi
# Reinstall only when pyproject.toml changed since the last install.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    echo "setup: installing the project and its test tools into .venv ..."
    .venv/bin/python -m pip install -q -e '.[dev,postgres]'
    rm -f .venv/.installed-* && touch "$stamp"
fi
.venv/bin/python -c "from deploy.kafka.launch import LocalKafka; LocalKafka().ensure_jars()"

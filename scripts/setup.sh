#!/usr/bin/env bash
# Installs what the system and its tests need on a fresh machine, once: Java and Maven (Debian) when
# missing, a virtualenv with the project and its test tools, and the Apache Kafka jars (Maven Central).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v java >/dev/null || ! command -v mvn >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "setup: java and mvn are needed; install Java 17 and Maven (or run as root to apt-get them)" >&2
        exit 1
    fi
    echo "setup: installing Java 17 and Maven from Debian ..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless maven >/dev/null
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

"""Service settings from the environment: bad values stop the service with a message naming the variable."""

import os
from pathlib import Path

import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from services.contract.serve import server_config
from services.gateway.settings import GatewaySettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """Only the variables a test sets itself are seen."""
    for name in list(os.environ):
        if name.upper().startswith("SW_GATEWAY_"):
            monkeypatch.delenv(name)


class TestLoad:
    def test_defaults_load_without_any_variable(self):
        settings = GatewaySettings.load()
        assert (settings.service_name, settings.http_port, settings.environment) == ("gateway", 8080, "production")

    def test_reads_prefixed_variables(self, monkeypatch):
        monkeypatch.setenv("SW_GATEWAY_HTTP_PORT", "9090")
        monkeypatch.setenv("SW_GATEWAY_TOPIC_PREFIX", "dev.")
        settings = GatewaySettings.load()
        assert settings.http_port == 9090
        assert settings.topic_prefix == "dev."

    @pytest.mark.parametrize("port", ["not-a-port", "0", "70000"])
    def test_bad_port_exits_naming_the_variable(self, monkeypatch, capsys, port):
        monkeypatch.setenv("SW_GATEWAY_HTTP_PORT", port)
        with pytest.raises(SystemExit) as exited:
            GatewaySettings.load()
        assert exited.value.code == 2
        assert f"SW_GATEWAY_HTTP_PORT={port!r}" in capsys.readouterr().err

    def test_every_bad_variable_gets_its_own_line(self, monkeypatch, capsys):
        monkeypatch.setenv("SW_GATEWAY_HTTP_PORT", "not-a-port")
        monkeypatch.setenv("SW_GATEWAY_LOG_LEVEL", "CHATTY")
        with pytest.raises(SystemExit):
            GatewaySettings.load()
        lines = capsys.readouterr().err.splitlines()
        assert len(lines) == 2
        assert any("SW_GATEWAY_HTTP_PORT" in line for line in lines)
        assert any("SW_GATEWAY_LOG_LEVEL" in line for line in lines)

    def test_unprefixed_variables_are_not_read(self, monkeypatch):
        monkeypatch.setenv("HTTP_PORT", "not-a-port")
        assert GatewaySettings.load().http_port == 8080


class TestDevKeysFile:
    def test_refused_outside_development(self):
        with pytest.raises(ValidationError, match="dev_keys_file is only allowed with SW_GATEWAY_ENVIRONMENT"):
            GatewaySettings(dev_keys_file=Path("keys.yaml"))

    def test_allowed_in_development(self):
        settings = GatewaySettings(dev_keys_file=Path("keys.yaml"), environment="development")
        assert settings.dev_keys_file == Path("keys.yaml")

    def test_from_the_environment_outside_development_exits(self, monkeypatch, capsys):
        monkeypatch.setenv("SW_GATEWAY_DEV_KEYS_FILE", "keys.yaml")
        with pytest.raises(SystemExit) as exited:
            GatewaySettings.load()
        assert exited.value.code == 2
        assert "dev_keys_file is only allowed with SW_GATEWAY_ENVIRONMENT=development" in capsys.readouterr().err

    def test_refusal_does_not_print_other_settings(self, monkeypatch, capsys):
        # A cross-field error must not echo the database URL (and its password) to the logs.
        monkeypatch.setenv("SW_GATEWAY_DATABASE_URL", "postgresql+asyncpg://sw:s3cret@db/sw")
        monkeypatch.setenv("SW_GATEWAY_DEV_KEYS_FILE", "keys.yaml")
        with pytest.raises(SystemExit):
            GatewaySettings.load()
        assert "s3cret" not in capsys.readouterr().err


class TestKafkaSecurity:
    def test_sasl_needs_a_user_and_a_password(self):
        with pytest.raises(ValidationError, match="SASL_SSL needs kafka_sasl_username and a password"):
            GatewaySettings(kafka_security_protocol="SASL_SSL", kafka_sasl_username="gateway")

    def test_a_password_comes_from_one_place(self, tmp_path):
        secret = tmp_path / "password"
        secret.write_text("from-the-file\n")
        with pytest.raises(ValidationError, match="not both"):
            GatewaySettings(
                kafka_security_protocol="SASL_SSL",
                kafka_sasl_username="gateway",
                kafka_sasl_password="inline",
                kafka_sasl_password_file=secret,
            )
        settings = GatewaySettings(
            kafka_security_protocol="SASL_SSL", kafka_sasl_username="gateway", kafka_sasl_password_file=secret
        )
        assert settings.kafka_password() == "from-the-file"

    def test_a_missing_file_stops_the_service_at_start(self, tmp_path):
        with pytest.raises(ValidationError, match="is not a readable file"):
            GatewaySettings(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path / "absent.pem")

    def test_a_bad_password_setting_is_not_echoed(self, monkeypatch, capsys):
        monkeypatch.setenv("SW_GATEWAY_KAFKA_SASL_PASSWORD", "x" * 3)
        monkeypatch.setenv("SW_GATEWAY_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
        with pytest.raises(SystemExit):
            GatewaySettings.load()
        error = capsys.readouterr().err
        assert "needs kafka_sasl_username" in error
        assert "xxx" not in error

    def test_a_service_reads_another_services_variables_when_asked(self, monkeypatch):
        monkeypatch.setenv("SW_CUSTOMS_KAFKA_BOOTSTRAP", "broker.example:9093")
        assert GatewaySettings.load(env_prefix="SW_CUSTOMS_").kafka_bootstrap == "broker.example:9093"
        assert GatewaySettings.load().kafka_bootstrap == "127.0.0.1:19092"


class TestServerConfig:
    """What uvicorn is given. Idle connections stay open longer than clients and proxies keep theirs (60 s is
    common), so that they close them first: a server closing one races a request sent on it meanwhile."""

    def test_idle_connections_outlive_a_clients_by_default(self):
        assert server_config(GatewaySettings.load(), FastAPI()).timeout_keep_alive > 60

    def test_the_keep_alive_is_a_setting(self, monkeypatch):
        monkeypatch.setenv("SW_GATEWAY_HTTP_KEEP_ALIVE_SECONDS", "120")
        assert server_config(GatewaySettings.load(), FastAPI()).timeout_keep_alive == 120


class TestConsumerFetchWait:
    """A consumer asks the broker again as each fetch ends, so with nothing to read the fetch wait is how often each
    consumer group polls: at 20 ms the services and the broker spent a fifth of this machine's two cores idle."""

    def test_an_idle_consumer_polls_at_most_ten_times_a_second_by_default(self):
        assert GatewaySettings.load().consumer_fetch_wait_ms >= 100

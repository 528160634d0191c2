"""The container deployment agrees with the code: docker-compose.yml, deploy/docker/Dockerfile, .dockerignore
and deploy/postgres/init.sql against the services' settings classes, and the Prometheus and Grafana containers
against deploy/monitoring (tests/unit/test_monitoring.py checks those files themselves).

No Docker engine is needed. `docker compose config -q` (which needs the Compose plugin but no engine) runs
when the plugin is installed and is skipped otherwise.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from fnmatch import fnmatch
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from sqlalchemy.engine import make_url

from services.contract.settings import ServiceSettings
from services.customs.settings import CustomsSettings
from services.gateway.settings import GatewaySettings
from services.phyto.settings import PhytoSettings
from tests.support.compose import (
    COMPOSE_FILE,
    DOCKERFILE,
    REPO,
    Services,
    compose_file,
    dockerfile_instructions,
    effective_command,
    environment,
    image_environment,
    mounts,
    published_ports,
    runtime_stage,
)

DOCKERIGNORE = REPO / ".dockerignore"
POSTGRES_INIT = REPO / "deploy" / "postgres" / "init.sql"
MONITORING = REPO / "deploy" / "monitoring"

SETTINGS: dict[str, type[ServiceSettings]] = {
    "gateway": GatewaySettings,
    "customs": CustomsSettings,
    "phyto": PhytoSettings,
}
PUBLISHED_PORTS = {"gateway": 8080, "customs": 8081, "phyto": 8082}
# Variables holding a path inside the container: only their field is checked, they are not loaded here.
CONTAINER_PATH_VARIABLES = {"SW_GATEWAY_DEV_KEYS_FILE"}


def prefix(name: str) -> str:
    return str(SETTINGS[name].model_config.get("env_prefix", ""))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return compose_file()


@pytest.fixture(scope="module")
def compose_services(compose: dict[str, Any]) -> Services:
    found = compose["services"]
    assert isinstance(found, dict)
    return found


def test_compose_runs_broker_database_the_three_services_and_their_monitoring(compose_services: Services) -> None:
    assert {"kafka", "postgres", *SETTINGS, "prometheus", "grafana"} <= set(compose_services)


@pytest.mark.parametrize("name", SETTINGS)
def test_every_sw_variable_is_a_field_of_the_service_settings(name: str, compose_services: Services) -> None:
    fields = SETTINGS[name].model_fields
    variables = [key for key in environment(compose_services[name]) if key.startswith("SW_")]
    assert variables, f"{name} gets no SW_* variable"
    for variable in variables:
        assert variable.startswith(prefix(name)), f"{name}: {variable} does not have the prefix {prefix(name)}"
        field = variable.removeprefix(prefix(name)).lower()
        assert field in fields, f"{name}: {variable} sets no field of {SETTINGS[name].__name__}"


def test_every_sw_variable_of_the_image_is_a_settings_field() -> None:
    variables = [key for key in image_environment() if key.startswith("SW_")]
    assert variables
    for variable in variables:
        owners = [name for name in SETTINGS if variable.startswith(prefix(name))]
        assert owners, f"Dockerfile ENV {variable} matches no service prefix"
        assert variable.removeprefix(prefix(owners[0])).lower() in SETTINGS[owners[0]].model_fields, variable


@pytest.mark.parametrize("name", SETTINGS)
def test_settings_accept_the_container_environment(
    name: str, compose_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The image's ENV overlaid with the compose environment loads, and every value given is the value used."""
    settings_class = SETTINGS[name]
    given = {
        key: value
        for key, value in (image_environment() | environment(compose_services[name])).items()
        if key.startswith(prefix(name)) and key not in CONTAINER_PATH_VARIABLES
    }
    for key in [key for key in os.environ if key.startswith(prefix(name))]:
        monkeypatch.delenv(key)
    for key, value in given.items():
        monkeypatch.setenv(key, value)
    settings = settings_class()
    for key, value in given.items():
        used = getattr(settings, key.removeprefix(prefix(name)).lower())
        if isinstance(used, dict | list):  # given as JSON
            assert used == json.loads(value), key
        else:
            assert (str(used).lower() if isinstance(used, bool) else str(used)) == value, key
    assert settings.http_host == "0.0.0.0", "a service in a container must listen on every interface"


def test_gateway_seeds_the_dev_keys_mounted_read_only(compose_services: Services) -> None:
    gateway = compose_services["gateway"]
    env = environment(gateway)
    assert "dev_keys_file" in GatewaySettings.model_fields
    assert env["SW_GATEWAY_ENVIRONMENT"] == "development", "dev keys are refused outside development"
    target = env["SW_GATEWAY_DEV_KEYS_FILE"]
    mounted = {dest: (source, read_only) for source, dest, read_only in mounts(gateway)}
    assert target in mounted, f"{target} is not mounted into the gateway"
    source, read_only = mounted[target]
    assert read_only
    assert (REPO / source).resolve() == REPO / "deploy" / "dev-keys.yaml"
    assert (REPO / source).is_file()


@pytest.mark.parametrize("name", SETTINGS)
def test_published_port_is_the_http_port(name: str, compose_services: Services) -> None:
    port = environment(compose_services[name])[f"{prefix(name)}HTTP_PORT"]
    assert port == str(PUBLISHED_PORTS[name]) == str(SETTINGS[name].model_fields["http_port"].default)
    assert (port, port) in published_ports(compose_services[name])


@pytest.mark.parametrize("name", SETTINGS)
def test_service_waits_for_healthy_kafka_and_postgres(name: str, compose_services: Services) -> None:
    depends_on = compose_services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form to state conditions"
    for dependency in ("kafka", "postgres"):
        assert depends_on[dependency]["condition"] == "service_healthy", f"{name} -> {dependency}"
        assert compose_services[dependency].get("healthcheck", {}).get("test"), f"{dependency} has no healthcheck"


@pytest.mark.parametrize("name", SETTINGS)
def test_service_runs_its_own_module_from_the_project_image(name: str, compose_services: Services) -> None:
    service = compose_services[name]
    build = service["build"]
    assert (REPO / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    assert effective_command(service) == ["python", "-m", f"services.{name}"]


def postgres_init() -> tuple[dict[str, str], dict[str, str]]:
    """({role: password}, {database: owner}) created by init.sql."""
    sql = POSTGRES_INIT.read_text()
    roles = dict(re.findall(r"CREATE ROLE (\w+) (?:WITH )?LOGIN PASSWORD '([^']*)'", sql, re.IGNORECASE))
    databases = dict(re.findall(r"CREATE DATABASE (\w+) OWNER (\w+)", sql, re.IGNORECASE))
    return roles, databases


def test_postgres_runs_the_init_script(compose_services: Services) -> None:
    postgres = compose_services["postgres"]
    assert re.fullmatch(r"postgres:16([.\-].*)?", postgres["image"]), postgres["image"]
    targets = {target: REPO / source for source, target, _ in mounts(postgres)}
    script = targets.get("/docker-entrypoint-initdb.d/init.sql")
    assert script is not None, "init.sql is not mounted into /docker-entrypoint-initdb.d"
    assert script.resolve() == POSTGRES_INIT
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])


@pytest.mark.parametrize("name", SETTINGS)
def test_each_service_has_its_own_database_and_role(name: str, compose_services: Services) -> None:
    roles, databases = postgres_init()
    url = make_url(environment(compose_services[name])[f"{prefix(name)}DATABASE_URL"])
    assert url.drivername == "postgresql+asyncpg"
    assert url.host == "postgres"
    assert (url.port or 5432) == 5432
    assert url.database == name
    assert databases.get(name) == url.username, f"init.sql does not create database {name} owned by {url.username}"
    assert url.username is not None
    assert roles.get(url.username) == url.password, f"password of role {url.username}"


def test_services_do_not_share_a_database(compose_services: Services) -> None:
    urls = [make_url(environment(compose_services[name])[f"{prefix(name)}DATABASE_URL"]) for name in SETTINGS]
    assert len({(url.database, url.username) for url in urls}) == len(SETTINGS)


def test_kafka_is_apache_kafka_4_in_kraft_mode(compose_services: Services) -> None:
    kafka = compose_services["kafka"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka["image"]), kafka["image"]
    env = environment(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@")
    listener_names = {listener.split("://")[0] for listener in env["KAFKA_LISTENERS"].split(",")}
    assert {"PLAINTEXT", env["KAFKA_CONTROLLER_LISTENER_NAMES"]} <= listener_names
    protocol_map = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert listener_names <= set(protocol_map)
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS"] == "0"
    for variable in (
        "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR",
        "KAFKA_TRANSACTION_STATE_LOG_MIN_ISR",
    ):
        assert env[variable] == "1", variable
    # The image formats its storage with CLUSTER_ID: a base64 (URL-safe, unpadded) 16-byte UUID.
    assert re.fullmatch(r"[A-Za-z0-9_-]{21}[AQgw]", env["CLUSTER_ID"]), env["CLUSTER_ID"]
    assert "kafka-broker-api-versions.sh" in " ".join(kafka["healthcheck"]["test"])


@pytest.mark.parametrize("name", SETTINGS)
def test_services_bootstrap_from_an_advertised_listener(name: str, compose_services: Services) -> None:
    advertised = environment(compose_services["kafka"])["KAFKA_ADVERTISED_LISTENERS"].split(",")
    addresses = {listener.split("://", 1)[1] for listener in advertised}
    assert environment(compose_services[name])[f"{prefix(name)}KAFKA_BOOTSTRAP"] in addresses


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    instructions = dockerfile_instructions()
    assert sum(keyword == "FROM" for keyword, _ in instructions) >= 2, "builder and runtime stages"
    runtime = runtime_stage()
    assert re.match(r"(\$\{PYTHON_IMAGE\}|python:3\.11-slim)(\s|$)", runtime[0][1])
    arg = [rest for keyword, rest in instructions if keyword == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert arg == ["PYTHON_IMAGE=python:3.11-slim"]
    users = [rest for keyword, rest in runtime if keyword == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert any(keyword == "COPY" and "--from=builder" in rest for keyword, rest in runtime)
    assert image_environment().get("PYTHONUNBUFFERED") == "1"
    healthchecks = [rest for keyword, rest in runtime if keyword == "HEALTHCHECK"]
    assert len(healthchecks) == 1
    assert "/health" in healthchecks[0]
    assert effective_command({}) == ["python", "-m", "services.gateway"]


class _Health(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 404)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def run_healthcheck(env: dict[str, str]) -> int:
    """The Dockerfile's HEALTHCHECK command, run here with this interpreter instead of the image's."""
    healthcheck = next(rest for keyword, rest in runtime_stage() if keyword == "HEALTHCHECK")
    match = re.search(r"\bCMD\s+(\[.*\])\s*$", healthcheck)
    assert match, "HEALTHCHECK should use the exec form"
    command = json.loads(match.group(1))
    assert Path(command[0]).name.startswith("python")
    result = subprocess.run([sys.executable, *command[1:]], env=env, capture_output=True, timeout=30, check=False)
    return result.returncode


def test_healthcheck_calls_health_on_the_service_port(health_server: int) -> None:
    assert run_healthcheck({"SW_CUSTOMS_HTTP_PORT": str(health_server)}) == 0
    assert run_healthcheck({"SW_PHYTO_HTTP_PORT": str(closed_port())}) != 0
    assert run_healthcheck({"HEALTHCHECK_PORT": str(health_server), "SW_PHYTO_HTTP_PORT": str(closed_port())}) == 0


def test_dockerignore_keeps_local_state_out_but_not_the_sources() -> None:
    patterns = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert {".git", ".venv", ".local", "var", "**/__pycache__"} <= set(patterns)

    def ignored(path: str) -> bool:
        return any(fnmatch(path, pattern) or fnmatch(path, pattern.removeprefix("**/")) for pattern in patterns)

    for needed in ("pyproject.toml", "services", "services/gateway/settings.py", "services/gateway/data/routing.yaml"):
        assert not ignored(needed), needed


def repository_file(service: dict[str, Any], container_path: str) -> Path | None:
    """The file of the repository that a bind mount of `service` shows at `container_path`, if any."""
    wanted = PurePosixPath(container_path)
    for source, target, _ in mounts(service):
        if source.startswith((".", "/")) and (
            wanted == PurePosixPath(target) or PurePosixPath(target) in wanted.parents
        ):
            return (REPO / source / wanted.relative_to(target)).resolve()
    return None


def test_named_volumes_are_declared(compose: dict[str, Any], compose_services: Services) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in compose_services.items():
        for source, _, _ in mounts(service):
            if source and not source.startswith((".", "/")):
                assert source in declared, f"{name} mounts volume {source}, which `volumes:` does not declare"


@pytest.mark.parametrize(
    ("name", "image"),
    [("prometheus", r"prom/prometheus:v\d+\.\d+\.\d+"), ("grafana", r"grafana/grafana:\d+\.\d+\.\d+")],
)
def test_monitoring_images_are_pinned(name: str, image: str, compose_services: Services) -> None:
    assert re.fullmatch(image, compose_services[name]["image"]), compose_services[name]["image"]


@pytest.mark.parametrize(("name", "port"), [("prometheus", 9090), ("grafana", 3000)])
def test_monitoring_is_published_on_the_loopback_only(name: str, port: int, compose_services: Services) -> None:
    assert compose_services[name]["ports"] == [f"127.0.0.1:{port}:{port}"]


@pytest.mark.parametrize("name", ["prometheus", "grafana"])
def test_monitoring_mounts_files_of_the_repository_read_only(name: str, compose_services: Services) -> None:
    binds = [
        (source, target, read_only)
        for source, target, read_only in mounts(compose_services[name])
        if source.startswith(".")
    ]
    assert binds
    for source, target, read_only in binds:
        assert (REPO / source).exists(), f"{name}: {source} (mounted at {target}) is not in the repository"
        assert (REPO / source).resolve().is_relative_to(MONITORING), source
        assert read_only, f"{name}: {source} should be mounted read-only"


def test_prometheus_loads_the_config_and_the_rules_of_the_repository(compose_services: Services) -> None:
    prometheus = compose_services["prometheus"]
    flags = dict(str(arg).removeprefix("--").split("=", 1) for arg in prometheus["command"])
    config_path = flags["config.file"]
    assert repository_file(prometheus, config_path) == MONITORING / "prometheus.yml"
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    assert config["rule_files"]
    for rules in config["rule_files"]:
        # Prometheus resolves rule_files against the directory of its config file, in the container as here.
        in_container = PurePosixPath(config_path).parent / rules
        assert repository_file(prometheus, str(in_container)) == (MONITORING / rules).resolve(), rules
    storage = [target for source, target, _ in mounts(prometheus) if not source.startswith((".", "/"))]
    assert storage == [flags["storage.tsdb.path"]], "the TSDB lives in a named volume"


@pytest.mark.parametrize("name", SETTINGS)
def test_prometheus_scrapes_each_service_at_its_compose_address(name: str, compose_services: Services) -> None:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == name]
    targets = [target for group in job["static_configs"] for target in group["targets"]]
    assert targets == [f"{name}:{environment(compose_services[name])[f'{prefix(name)}HTTP_PORT']}"]
    assert name in compose_services["prometheus"].get("depends_on", [])


def test_prometheus_can_read_the_gateway_metrics_without_a_key(compose_services: Services) -> None:
    """The gateway takes keys in X-API-Key, which a scrape does not send: its ops endpoints must be public."""
    value = environment(compose_services["gateway"]).get("SW_GATEWAY_OPS_PUBLIC")
    public = GatewaySettings.model_fields["ops_public"].default if value is None else value.lower() == "true"
    assert public
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    [job] = [job for job in config["scrape_configs"] if job["job_name"] == "gateway"]
    assert not {"authorization", "basic_auth", "oauth2"} & set(job)


def test_grafana_provisions_the_compose_prometheus_and_the_dashboards(compose_services: Services) -> None:
    grafana = compose_services["grafana"]
    provisioning = MONITORING / "grafana" / "provisioning"
    for kind in ("datasources", "dashboards"):
        assert repository_file(grafana, f"/etc/grafana/provisioning/{kind}") == provisioning / kind
    [datasource] = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())["datasources"]
    url = urlsplit(datasource["url"])
    assert url.hostname == "prometheus"
    assert url.port == 9090
    assert ("9090", "9090") in published_ports(compose_services["prometheus"])
    [provider] = yaml.safe_load((provisioning / "dashboards" / "single-window.yml").read_text())["providers"]
    dashboards = repository_file(grafana, provider["options"]["path"])
    assert dashboards == MONITORING / "grafana" / "dashboards"
    assert list(dashboards.glob("*.json"))


def test_grafana_opens_on_the_overview_for_anonymous_viewers(compose_services: Services) -> None:
    env = environment(compose_services["grafana"])
    home = repository_file(compose_services["grafana"], env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"])
    assert home == MONITORING / "grafana" / "dashboards" / "single-window-overview.json"
    assert home.is_file()
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "true"
    assert env["GF_AUTH_ANONYMOUS_ORG_ROLE"] == "Viewer", "anonymous visitors read, they do not edit"
    assert env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert re.fullmatch(r"\$\{GRAFANA_ADMIN_PASSWORD:-[^}]+\}", env["GF_SECURITY_ADMIN_PASSWORD"]), (
        "the admin password comes from the environment, with a development default"
    )


def _compose_cli() -> list[str] | None:
    """`docker compose` (the v2 plugin), else a standalone v2 `docker-compose`; None when neither works."""
    candidates = []
    if docker := shutil.which("docker"):
        candidates.append([docker, "compose"])
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    for cli in candidates:
        try:
            version = subprocess.run([*cli, "version"], capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if version.returncode == 0 and re.search(r"\bv?2\.", version.stdout):
            return cli
    return None


def test_docker_compose_config_accepts_the_file() -> None:
    """Compose's own validation. `config` reads files only, so it needs the plugin, not a Docker engine."""
    cli = _compose_cli()
    if cli is None:
        pytest.skip("no Docker Compose v2 (`docker compose` plugin) on this machine")
    result = subprocess.run(
        [*cli, "-f", str(COMPOSE_FILE), "config", "-q"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr

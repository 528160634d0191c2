"""The monitoring of deploy/monitoring agrees with itself and with the code: promtool accepts the scrape
configuration and the alert rules and passes their unit tests, and every metric (and label) an alert or a
Grafana panel queries is one the services expose.

promtool comes from Debian's `prometheus` package, which scripts/setup.sh installs; without it those tests skip.
No Prometheus or Grafana server is started.
"""

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, generate_latest
from prometheus_client.metrics import MetricWrapperBase

from services.contract import metrics

REPO = Path(__file__).resolve().parents[2]
MONITORING = REPO / "deploy" / "monitoring"
PROMETHEUS_CONFIG = MONITORING / "prometheus.yml"
ALERT_RULES = MONITORING / "alerts.yml"
ALERT_TESTS = MONITORING / "alerts_test.yml"
GRAFANA = MONITORING / "grafana"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))

SERVICES = {"gateway", "customs", "phyto"}
# Series Prometheus makes itself: `up` for every target, ALERTS for every pending or firing alert.
PROMETHEUS_SERIES = {"up": {"job", "instance"}, "ALERTS": None}
# Labels every scraped series gets, and the bucket bound of histograms.
TARGET_LABELS = {"job", "instance", "le"}
# Grafana's interval variables, replaced by a plausible value when promtool checks a panel's expression.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "6h"}
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "info": ("_info",),
}


# --- what the services expose ------------------------------------------------------------------------------


def exposed_series() -> dict[str, set[str]]:
    """Every series name a service's /metrics can show, with its labels (before Prometheus adds job and instance).

    A labelled metric shows no sample until its first use: the names of such a family come from its type (a
    histogram has `_bucket`, `_sum`, `_count` and `_created` series), the others from their samples."""
    labels: dict[str, set[str]] = {}
    for family in REGISTRY.collect():
        for suffix in () if family.samples else SUFFIXES.get(family.type, ("",)):
            labels.setdefault(family.name + suffix, set())
        for sample in family.samples:
            labels.setdefault(sample.name, set()).update(sample.labels)
    # The labels of metrics not used yet are only on their definitions (a private attribute of prometheus_client).
    for metric in vars(metrics).values():
        if isinstance(metric, MetricWrapperBase):
            for suffix in SUFFIXES.get(str(metric._type), ("",)):
                labels[metric._name + suffix].update(metric._labelnames)
    for name in [name for name in labels if name.endswith("_bucket")]:
        labels[name].add("le")
    return labels


EXPOSED = exposed_series()


# --- reading PromQL ----------------------------------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{([^}]*)\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
_OFFSET = re.compile(r"\boffset\s+-?\w+|@\s*[\w.()]+")
_IDENTIFIER = re.compile(r"(?<![\w.$:])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?")
_KEYWORDS = {"and", "or", "unless", "bool", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects: identifiers that are not functions, keywords or label names."""
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub("", text)
    text = _RANGE.sub("", text)
    text = _GROUPING.sub(" ", text)
    text = _OFFSET.sub(" ", text)
    return {
        match.group(1)
        for match in _IDENTIFIER.finditer(text)
        if match.group(2) is None and match.group(1).lower() not in _KEYWORDS
    }


def label_names(expr: str) -> set[str]:
    """The label names an expression matches on or groups by."""
    text = _STRING.sub('""', expr)
    found = set()
    for matchers in _MATCHERS.findall(text):
        found |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", matchers))
    for grouping in _GROUPING.findall(text):
        found |= {label.strip() for label in grouping.split(",") if label.strip()}
    return found


def problems_with(expr: str) -> list[str]:
    """What an expression asks for that no service exposes: unknown metrics, labels no metric of it has."""
    names = metric_names(expr)
    problems = [
        f"unknown metric {name}" for name in sorted(names) if name not in EXPOSED and name not in PROMETHEUS_SERIES
    ]
    allowed = set(TARGET_LABELS)
    for name in names:
        labels = EXPOSED.get(name, PROMETHEUS_SERIES.get(name, set()))
        if labels is None:  # ALERTS carries the labels of the alerts: any
            return problems
        allowed |= labels
    problems += [f"label {label} is on none of {sorted(names)}" for label in sorted(label_names(expr) - allowed)]
    return problems


# --- the files -----------------------------------------------------------------------------------------------


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def alert_rules() -> list[dict[str, Any]]:
    return [rule for group in load_yaml(ALERT_RULES)["groups"] for rule in group["rules"]]


def all_panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """Every panel, those inside collapsed rows included."""
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))


def dashboard_expressions(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, expr) for every query of every panel."""
    return [
        (f"panel {panel['id']} {panel.get('title', '')!r} query {target.get('refId')}", target["expr"])
        for panel in all_panels(dashboard["panels"])
        for target in panel.get("targets", [])
    ]


def load_dashboard(path: Path) -> dict[str, Any]:
    loaded = json.loads(path.read_text())
    assert isinstance(loaded, dict)
    return loaded


def provisioned_uid() -> str:
    [datasource] = load_yaml(DATASOURCES)["datasources"]
    assert datasource["type"] == "prometheus"
    return str(datasource["uid"])


# --- promtool ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`; scripts/setup.sh installs it)")
    return found


def run(promtool: str, *args: str) -> str:
    result = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def test_promtool_accepts_the_scrape_config_and_finds_its_rule_files(promtool: str) -> None:
    output = run(promtool, "check", "config", str(PROMETHEUS_CONFIG))
    assert "1 rule files found" in output, output


def test_promtool_accepts_the_alert_rules(promtool: str) -> None:
    output = run(promtool, "check", "rules", str(ALERT_RULES))
    assert f"{len(alert_rules())} rules found" in output, output


def test_alert_rules_pass_their_unit_tests(promtool: str) -> None:
    run(promtool, "test", "rules", str(ALERT_TESTS))


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    """promtool parses each panel's query as a recording rule, Grafana's interval variables replaced."""
    rules: list[dict[str, str]] = []
    for path in DASHBOARDS:
        for where, expr in dashboard_expressions(load_dashboard(path)):
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{path.name} {where}: a Grafana variable this test does not know: {expr}"
            rules.append({"record": f"dashboard:query:{len(rules)}", "expr": expr})
    assert rules
    checked = tmp_path / "dashboard-queries.yml"
    checked.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    run(promtool, "check", "rules", str(checked))


# --- the scrape config and the alerts ------------------------------------------------------------------------


def test_prometheus_scrapes_the_three_services_every_15_seconds() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["global"]["scrape_interval"] == "15s"
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == SERVICES
    for name, job in jobs.items():
        targets = [target for group in job["static_configs"] for target in group["targets"]]
        assert [target.split(":")[0] for target in targets] == [name], "compose host names"
        assert job.get("metrics_path", "/metrics") == "/metrics"
    assert [(PROMETHEUS_CONFIG.parent / rules).resolve() for rules in config["rule_files"]] == [ALERT_RULES]


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule.get("alert") or rule.get("record"))
def test_each_alert_waits_has_a_severity_and_says_what_is_wrong(rule: dict[str, Any]) -> None:
    assert "alert" in rule, "alerts.yml holds alerts only"
    assert re.fullmatch(r"\d+[smh]", str(rule.get("for", ""))), "a `for:` duration"
    assert rule["labels"]["severity"] in {"critical", "warning"}
    assert rule["annotations"]["summary"].strip()
    assert len(rule["annotations"]["description"].split()) >= 10, "a description an operator can act on"


def test_alert_names_are_unique() -> None:
    names = [rule["alert"] for rule in alert_rules()]
    assert len(names) == len(set(names))


def test_every_alert_is_shown_firing_by_a_unit_test_and_some_stay_silent() -> None:
    cases = [case for test in load_yaml(ALERT_TESTS)["tests"] for case in test["alert_rule_test"]]
    fired = {case["alertname"] for case in cases if case.get("exp_alerts")}
    silent = {case["alertname"] for case in cases if not case.get("exp_alerts")}
    assert fired == {rule["alert"] for rule in alert_rules()}, "every alert fires in alerts_test.yml"
    assert len(silent) >= 3, "and cases that must not fire"
    assert (MONITORING / load_yaml(ALERT_TESTS)["rule_files"][0]).resolve() == ALERT_RULES


@pytest.mark.parametrize("rule", alert_rules(), ids=lambda rule: rule["alert"])
def test_alert_queries_only_what_the_services_expose(rule: dict[str, Any]) -> None:
    assert problems_with(rule["expr"]) == []


def test_job_names_in_queries_are_the_scrape_jobs() -> None:
    expressions = [rule["expr"] for rule in alert_rules()]
    expressions += [expr for path in DASHBOARDS for _, expr in dashboard_expressions(load_dashboard(path))]
    jobs = [
        job
        for expr in expressions
        for pattern in re.findall(r'\bjob\s*(?:=~|=)\s*"([^"]*)"', expr)
        for job in pattern.split("|")
    ]
    assert jobs
    assert set(jobs) <= SERVICES


def test_the_created_series_the_dead_letter_alert_relies_on_are_exposed() -> None:
    """DeadLettersIncreasing reads sw_dead_letters_created: the client must not have `_created` series off."""
    assert b"sw_time_to_release_seconds_created" in generate_latest(REGISTRY)


# --- the Grafana dashboard -----------------------------------------------------------------------------------


def test_there_is_a_dashboard() -> None:
    assert [path.name for path in DASHBOARDS] == ["single-window-overview.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_panels_have_unique_ids_and_use_the_provisioned_datasource(path: Path) -> None:
    dashboard = load_dashboard(path)
    assert dashboard["uid"]
    assert dashboard["title"]
    panels = list(all_panels(dashboard["panels"]))
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    uid = provisioned_uid()
    for panel in panels:
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, f"panel {panel['id']} is wider than the grid"
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['id']} {panel['title']!r} has no query"
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]
        for target in panel["targets"]:
            assert target.get("datasource", panel["datasource"]) == panel["datasource"], panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.name)
def test_dashboard_queries_only_what_the_services_expose(path: Path) -> None:
    problems = [
        f"{where}: {problem}"
        for where, expr in dashboard_expressions(load_dashboard(path))
        for problem in problems_with(expr)
    ]
    assert problems == []


def test_the_dashboard_shows_what_the_operators_need() -> None:
    """The overview covers every single-window metric: a metric nobody graphs is a metric nobody reads."""
    queried = {name for _, expr in dashboard_expressions(load_dashboard(DASHBOARDS[0])) for name in metric_names(expr)}
    ours = {
        metric._name + ("_total" if metric._type == "counter" else "_bucket" if metric._type == "histogram" else "")
        for metric in vars(metrics).values()
        if isinstance(metric, MetricWrapperBase)
    }
    assert ours - queried == set()


def test_a_misspelled_metric_or_label_in_a_panel_fails_the_check() -> None:
    dashboard = load_dashboard(DASHBOARDS[0])
    text = json.dumps(dashboard)
    assert "sw_events_published_total" in text
    assert "by (agency, le)" in text
    broken = json.loads(
        text.replace("sw_events_published_total", "sw_event_published_total").replace(
            "by (agency, le)", "by (agnecy, le)"
        )
    )
    problems = [problem for _, expr in dashboard_expressions(broken) for problem in problems_with(expr)]
    assert "unknown metric sw_event_published_total" in problems
    assert any(problem.startswith("label agnecy ") for problem in problems)


@pytest.mark.parametrize(
    ("expr", "names", "labels"),
    [
        (
            'sum by (job, le) (rate(x_bucket{route!~"/health|/ready"}[$__rate_interval]))',
            {"x_bucket"},
            {"job", "le", "route"},
        ),
        ("histogram_quantile(0.99, sum(rate(a_bucket[5m])) by (le)) > 1e3", {"a_bucket"}, {"le"}),
        ("a_total unless on (job, topic) b offset 15m or vector(1)", {"a_total", "b"}, {"job", "topic"}),
        (
            'count by (job) (time() - c_created < 900) and bool d{state="released"}',
            {"c_created", "d"},
            {"job", "state"},
        ),
        ("60 * sum without (instance) (irate(e_total[1h:5m]))", {"e_total"}, {"instance"}),
    ],
)
def test_the_query_reader_finds_metrics_and_labels(expr: str, names: set[str], labels: set[str]) -> None:
    assert metric_names(expr) == names
    assert label_names(expr) == labels


# --- Grafana provisioning ------------------------------------------------------------------------------------


def test_the_datasource_is_the_compose_prometheus_with_a_fixed_uid() -> None:
    [datasource] = load_yaml(DATASOURCES)["datasources"]
    assert datasource["url"] == "http://prometheus:9090"
    assert datasource["uid"] == "sw-prometheus"
    assert datasource["isDefault"] is True
    assert datasource["jsonData"]["timeInterval"] == load_yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]


def test_the_dashboard_provider_loads_files_and_keeps_them_read_only() -> None:
    [provider] = load_yaml(GRAFANA / "provisioning" / "dashboards" / "single-window.yml")["providers"]
    assert provider["type"] == "file"
    assert provider["allowUiUpdates"] is False
    assert provider["options"]["path"].startswith("/etc/grafana/dashboards/")

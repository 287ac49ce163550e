"""Grafana dashboards and PrometheusRules of apps/observability, checked offline.

The Kustomize base builds; dashboards are labelled for the Grafana sidecar and every PromQL
expression in them parses; the PrometheusRule matches its CRD schema; the rule groups extracted
from it pass `promtool check rules` and the unit tests in alerts/ (`promtool test rules`).
promtool comes from Debian's prometheus package (`make promtool`).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "apps" / "observability"
TESTS = Path(__file__).resolve().parent / "alerts" / "pantrypulse-rules.test.yaml"
PROMTOOL = shutil.which("promtool")
KUBECTL = shutil.which("kubectl")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="no promtool (make promtool)")


@pytest.fixture(scope="module")
def built() -> list[dict]:
    if KUBECTL is None:
        pytest.skip("no kubectl (kustomize)")
    out = subprocess.run(
        [KUBECTL, "kustomize", str(BASE)], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


@pytest.fixture(scope="module")
def dashboards(built) -> dict[str, dict]:
    out = {}
    for doc in built:
        if doc["kind"] == "ConfigMap":
            for name, text in doc["data"].items():
                out[name] = json.loads(text)
    return out


@pytest.fixture(scope="module")
def rule(built) -> dict:
    (doc,) = [d for d in built if d["kind"] == "PrometheusRule"]
    return doc


def _exprs(dashboard: dict) -> list[str]:
    return [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]


def test_base_builds_into_monitoring_with_sidecar_labels(built):
    kinds = sorted(d["kind"] for d in built)
    assert kinds == ["ConfigMap", "ConfigMap", "PrometheusRule"]
    for doc in built:
        assert doc["metadata"]["namespace"] == "monitoring"
        if doc["kind"] == "ConfigMap":
            assert doc["metadata"]["labels"]["grafana_dashboard"] == "1"


def test_dashboards_are_well_formed(dashboards):
    assert set(dashboards) == {"pipeline-health.json", "service-health.json"}
    uids = [d["uid"] for d in dashboards.values()]
    assert len(set(uids)) == len(uids)
    for name, dash in dashboards.items():
        names = {v["name"] for v in dash["templating"]["list"]}
        assert "datasource" in names, name
        ids = [p["id"] for p in dash["panels"]]
        assert len(set(ids)) == len(ids), f"{name}: duplicate panel ids"
        for panel in dash["panels"]:
            g = panel["gridPos"]
            assert g["x"] + g["w"] <= 24, f"{name}: {panel['title']} overflows the grid"
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] == "${datasource}"
                assert panel["targets"], f"{name}: {panel['title']} has no query"
                for t in panel["targets"]:
                    used = set(re.findall(r"\$(\w+)", t["expr"]))
                    assert used <= names, f"{panel['title']}: unknown variables {used - names}"


def test_pipeline_dashboard_covers_the_pipeline_signals(dashboards):
    exprs = "\n".join(_exprs(dashboards["pipeline-health.json"]))
    for metric in (
        "pantrypulse:table_staleness_seconds",
        "pantrypulse_rows_written_total",
        "pantrypulse_rejected_rows_total",
        "kafka_consumergroup_lag",
        "airflow_dagrun_duration_seconds_count",
        "airflow_dagrun_duration_seconds_sum",
    ):
        assert metric in exprs, metric
    assert "by (reason)" in exprs


def test_service_dashboard_covers_every_service(dashboards):
    titles = [p["title"] for p in dashboards["service-health.json"]["panels"] if p["type"] == "row"]
    assert titles[1:] == ["Trino", "Nessie", "Kafka", "MinIO", "PostgreSQL (CloudNativePG)"]


@needs_promtool
def test_every_dashboard_query_is_valid_promql(dashboards, tmp_path):
    rules = []
    for dash in dashboards.values():
        for i, expr in enumerate(_exprs(dash)):
            rules.append(
                {
                    "record": f"dashboard:check:{dash['uid'].replace('-', '_')}_{i}",
                    "expr": re.sub(r"\$\w+", ".*", expr),
                }
            )
    path = tmp_path / "dashboard-queries.yaml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_five_alerts_exist_and_page_with_context(rule):
    alerts = {r["alert"]: r for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    assert {
        "PantryPulseGoldTableStale",
        "PantryPulseRejectsRising",
        "PantryPulseConsumerLagHigh",
        "PantryPulseDagRunFailed",
        "PantryPulseIcebergCommitFailures",
    } <= set(alerts)
    for name, r in alerts.items():
        assert r["labels"]["severity"] in {"info", "warning", "critical"}, name
        assert {"summary", "description", "runbook"} <= set(r["annotations"]), name
        anchor = r["annotations"]["runbook"].split("#")[1]
        assert f"## {anchor.replace('-', ' ')}".lower() in (BASE / "README.md").read_text().lower()


def test_every_alert_has_a_firing_and_a_quiet_unit_test(rule):
    alerts = {r["alert"] for g in rule["spec"]["groups"] for r in g["rules"] if "alert" in r}
    cases = [
        c for t in yaml.safe_load(TESTS.read_text())["tests"] for c in t.get("alert_rule_test", [])
    ]
    for name in alerts:
        mine = [c for c in cases if c["alertname"] == name]
        assert any(c["exp_alerts"] for c in mine), f"{name}: no test where it fires"
        assert any(not c["exp_alerts"] for c in mine), f"{name}: no test where it stays quiet"


@needs_promtool
def test_promtool_checks_and_unit_tests_pass(rule, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    shutil.copy(TESTS, tmp_path / TESTS.name)
    check = subprocess.run(
        [PROMTOOL, "check", "rules", "rules.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stdout + check.stderr
    unit = subprocess.run(
        [PROMTOOL, "test", "rules", TESTS.name], cwd=tmp_path, capture_output=True, text=True
    )
    assert unit.returncode == 0, unit.stdout + unit.stderr
    assert "SUCCESS" in unit.stdout


@needs_promtool
def test_promtool_unit_tests_catch_a_wrong_expectation(rule, tmp_path):
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    (tmp_path / "t.yaml").write_text(
        TESTS.read_text().replace("severity: critical", "severity: page")
    )
    unit = subprocess.run(
        [PROMTOOL, "test", "rules", "t.yaml"], cwd=tmp_path, capture_output=True, text=True
    )
    assert unit.returncode != 0

"""Every DAG loads, has the agreed shape, and does no I/O when parsed."""

from __future__ import annotations

import builtins
import importlib.util
import socket
import subprocess
import sys
from datetime import timedelta

import pytest
from conftest import DAG_IDS, DAGS, load_dagbag


@pytest.mark.parametrize("bag", ["local_dagbag", "k8s_dagbag"])
def test_dags_load_without_import_errors(bag, request):
    dagbag = request.getfixturevalue(bag)
    assert dagbag.import_errors == {}
    assert set(dagbag.dags) == DAG_IDS


def test_bad_runner_setting_is_an_import_error_naming_the_variable():
    dagbag = load_dagbag("docker")
    assert len(dagbag.import_errors) == len(DAG_IDS)  # every DAG file
    assert all("DAGS__RUNNER" in err for err in dagbag.import_errors.values())


@pytest.mark.parametrize("runner", ["local", "kubernetes"])
def test_parsing_does_no_file_network_or_process_io(runner, monkeypatch):
    # Warm every import first by one normal parse (importing libraries reads files and may
    # probe the platform; that is not the DAG files' doing), then parse again under patches.
    load_dagbag(runner, DAGS__K8S_IN_CLUSTER="false")
    import kubernetes.client
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook
    from airflow.sdk import Variable
    from airflow.sdk.bases.hook import BaseHook

    for name in [m for m in sys.modules if m.startswith("pantrypulse_tasks")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setenv("DAGS__RUNNER", runner)

    def forbidden(*_args, **_kwargs):
        raise AssertionError("I/O while parsing a DAG file")

    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    monkeypatch.setattr(subprocess.Popen, "__init__", forbidden)
    monkeypatch.setattr(Variable, "get", forbidden)
    monkeypatch.setattr(BaseHook, "get_connection", forbidden)
    monkeypatch.setattr(KubernetesHook, "get_conn", forbidden)
    monkeypatch.setattr(kubernetes.client.CoreV1Api, "read_namespaced_config_map", forbidden)
    for path in sorted(DAGS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"parse_check_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


DAILY_ORDER = {
    "plan_window": {"ingest"},
    "ingest": {"resolve", "bronze_status"},
    "resolve": {"silver"},
    "silver": {"silver_tests"},
    "silver_tests": {"gold"},
    "gold": {"gold_tests"},
    "gold_tests": set(),
    "bronze_status": {"publish_freshness"},
    "publish_freshness": set(),
}


@pytest.mark.parametrize("bag", ["local_dagbag", "k8s_dagbag"])
def test_daily_task_order(bag, request):
    dag = request.getfixturevalue(bag).dags["pantrypulse_daily"]
    assert {t.task_id: set(t.downstream_task_ids) for t in dag.tasks} == DAILY_ORDER
    assert dag.get_task("bronze_status").trigger_rule == "all_done"


@pytest.mark.parametrize("bag", ["local_dagbag", "k8s_dagbag"])
def test_maintenance_is_one_task(bag, request):
    dag = request.getfixturevalue(bag).dags["lakehouse_maintenance"]
    assert [t.task_id for t in dag.tasks] == ["maintain"]


@pytest.mark.parametrize("bag", ["local_dagbag", "k8s_dagbag"])
def test_bronze_stream_maintenance_is_one_task(bag, request):
    dag = request.getfixturevalue(bag).dags["bronze_stream_maintenance"]
    assert [t.task_id for t in dag.tasks] == ["maintain"]
    # An hourly DAG: a run (and its task) must end before the next one is due.
    assert dag.dagrun_timeout < timedelta(hours=1)


def test_bronze_stream_maintenance_local_command(local_dagbag):
    dag = local_dagbag.dags["bronze_stream_maintenance"]
    task = dag.get_task("maintain")
    task.render_template_fields(
        {"params": {"snapshot_retention_hours": 6, "compact_since_days": 1}},
        jinja_env=dag.get_template_env(),
    )
    assert task.arguments == [
        "maintain",
        "--retention-hours",
        "6",
        "--since-days",
        "1",
        "--no-orphans",
        "--table",
        "bronze.invoices_raw",
        "--table",
        "bronze.invoices_rejected",
        "--table",
        "bronze.load_log",
        "--json",
    ]


@pytest.mark.parametrize(
    ("dag_id", "cron", "tags"),
    [
        ("pantrypulse_daily", "30 2 * * *", {"pantrypulse", "pipeline", "daily"}),
        ("lakehouse_maintenance", "15 5 * * *", {"pantrypulse", "maintenance", "iceberg"}),
        (
            "bronze_stream_maintenance",
            "45 * * * *",
            {"pantrypulse", "maintenance", "iceberg", "bronze", "streaming"},
        ),
    ],
)
def test_schedule_and_run_policy(local_dagbag, dag_id, cron, tags):
    dag = local_dagbag.dags[dag_id]
    assert dag.timetable._expression == cron
    assert str(dag.timetable._timezone) in ("UTC", "Timezone('UTC')")
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert set(dag.tags) == tags
    assert dag.dagrun_timeout is not None
    assert dag.deadline is not None  # the Airflow 3 successor of SLAs
    assert dag.doc_md


@pytest.mark.parametrize("bag", ["local_dagbag", "k8s_dagbag"])
def test_every_task_has_owner_timeout_retries_and_alert(bag, request):
    for dag in request.getfixturevalue(bag).dags.values():
        for task in dag.tasks:
            assert task.owner == "data-platform", task.task_id
            assert task.execution_timeout is not None, task.task_id
            assert task.execution_timeout <= dag.dagrun_timeout, task.task_id
            assert task.on_failure_callback, task.task_id
            if task.task_id in ("plan_window", "publish_freshness"):
                assert task.retries == 0  # pure date math / a verdict: a retry changes nothing
                continue
            assert task.retries >= 1, task.task_id
            assert task.retry_exponential_backoff, task.task_id
            assert task.retry_delay >= timedelta(minutes=1), task.task_id


def test_backfill_params(local_dagbag):
    params = local_dagbag.dags["pantrypulse_daily"].params
    assert params["date_from"] is None
    assert params["date_to"] is None
    assert params["lookback_days"] == 3
    assert local_dagbag.dags["lakehouse_maintenance"].params["retention_days"] == 7
    bronze = local_dagbag.dags["bronze_stream_maintenance"].params
    assert bronze["snapshot_retention_hours"] == 2
    assert bronze["compact_since_days"] == 1


def test_dbt_runs_per_layer_with_gates(local_dagbag):
    dag = local_dagbag.dags["pantrypulse_daily"]
    commands = {t.task_id: t.arguments for t in dag.tasks if hasattr(t, "arguments")}
    assert commands["silver"][:2] == ["run", "--select"]
    assert commands["silver_tests"][:2] == ["test", "--select"]
    assert "path:models/silver" in commands["silver_tests"]
    assert commands["gold"] == ["run", "--select", "path:models/gold"]
    assert commands["ingest"][0] == "ingest"
    assert commands["bronze_status"] == ["status", "--json"]

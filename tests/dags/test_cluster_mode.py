"""The cluster runner: pod specs render with a dummy kubeconfig; maintenance goes via Trino."""

from __future__ import annotations

import pytest
from conftest import load_dagbag

IMAGES = {
    "INGESTION_IMAGE": "registry.example/pantrypulse/ingestion:0.1.0-abc1234",
    "DBT_IMAGE": "registry.example/pantrypulse/dbt@sha256:" + "a" * 64,
}
KUBECONFIG = """
apiVersion: v1
kind: Config
clusters: [{name: dummy, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: dummy, user: {token: not-a-real-token}}]
contexts: [{name: dummy, context: {cluster: dummy, user: dummy, namespace: default}}]
current-context: dummy
"""


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """Kubernetes runner with a dummy kubeconfig and a fake pipeline ConfigMap."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    from pantrypulse_tasks import config

    reads = []

    def fake_configmap(k8s):
        reads.append((k8s.namespace, k8s.pipeline_configmap))
        return dict(IMAGES)

    monkeypatch.setattr(config, "read_pipeline_configmap", fake_configmap)
    bag = load_dagbag("kubernetes", DAGS__K8S_IN_CLUSTER="false")
    assert bag.import_errors == {}
    return bag, reads


class _TI:
    dag_id, task_id, map_index, try_number = "pantrypulse_daily", "task", -1, 1

    def xcom_pull(self, task_ids=None, **_):
        assert task_ids == "plan_window"
        return {"date_from": "2026-01-10", "date_to": "2026-01-14"}


def _pod(dag, task_id):
    task = dag.get_task(task_id)
    context = {
        "ti": _TI(),
        "dag": dag,
        "run_id": "scheduled__2026-01-15T02:30:00+00:00",
        "params": {"retention_days": 7},
    }
    task.render_template_fields(context, jinja_env=dag.get_template_env())
    return task, task.build_pod_request_obj(context)


def test_ingest_pod_spec(cluster):
    bag, reads = cluster
    task, pod = _pod(bag.dags["pantrypulse_daily"], "ingest")
    container = pod.spec.containers[0]
    assert reads == [("pantrypulse", "pantrypulse-pipeline")]  # read when rendered, not parsed
    assert container.image == IMAGES["INGESTION_IMAGE"]
    assert container.command == ["pantrypulse"]
    assert container.args == ["ingest", "--from", "2026-01-10", "--to", "2026-01-14"]
    assert pod.metadata.namespace == "pantrypulse"
    env_from = [
        (
            e.config_map_ref.name if e.config_map_ref else None,
            e.secret_ref.name if e.secret_ref else None,
        )
        for e in container.env_from
    ]
    assert env_from == [
        ("pantrypulse-pipeline", None),
        ("platform-endpoints", None),
        (None, "pantrypulse-source"),
        (None, "pantrypulse-lakehouse"),
    ]
    assert all(e.secret_ref.optional for e in container.env_from if e.secret_ref)
    env = {e.name: e.value for e in container.env}
    assert env["PANTRYPULSE_HOME"] == "/tmp/pantrypulse"
    assert env["PANTRYPULSE_RUN_ID"] == "scheduled__2026-01-15T02:30:00+00:00"
    assert container.resources.requests == {"cpu": "500m", "memory": "1Gi"}
    assert container.resources.limits == {"cpu": "2", "memory": "2Gi"}
    sc = container.security_context
    assert (sc.allow_privilege_escalation, sc.read_only_root_filesystem, sc.privileged) == (
        False,
        True,
        False,
    )
    assert sc.capabilities.drop == ["ALL"]
    psc = pod.spec.security_context
    assert psc.run_as_non_root is True
    assert psc.seccomp_profile.type == "RuntimeDefault"
    assert pod.spec.service_account_name == "pantrypulse-pipeline"
    assert pod.spec.automount_service_account_token is False
    assert [v.mount_path for v in container.volume_mounts] == ["/tmp"]
    assert pod.metadata.labels["app.kubernetes.io/part-of"] == "pantrypulse"
    assert task.execution_timeout.total_seconds() == 45 * 60


def test_dbt_pod_spec_uses_the_dbt_image(cluster):
    bag, _ = cluster
    _, pod = _pod(bag.dags["pantrypulse_daily"], "gold_tests")
    container = pod.spec.containers[0]
    assert container.image == IMAGES["DBT_IMAGE"]
    assert container.command == ["dbt"]
    assert container.args == [
        "test",
        "--select",
        "path:models/gold",
        "--indirect-selection",
        "buildable",
    ]
    assert container.resources.limits == {"cpu": "1", "memory": "1Gi"}


def test_status_pod_returns_its_json_through_xcom(cluster):
    bag, _ = cluster
    task, pod = _pod(bag.dags["pantrypulse_daily"], "bronze_status")
    container = pod.spec.containers[0]
    assert task.do_xcom_push is True
    assert container.command == ["sh", "-c"]
    assert "/airflow/xcom/return.json" in container.args[0]
    assert "0|3) exit 0" in container.args[0]  # exit 3 = does not reconcile, reported later
    assert container.args[1:] == ["pantrypulse", "status", "--json"]
    assert [c.name for c in pod.spec.containers] == ["base", "airflow-xcom-sidecar"]


@pytest.mark.parametrize(
    "ref",
    ["registry.example/pantrypulse/ingestion", "registry.example/pantrypulse/ingestion:latest"],
)
def test_unpinned_images_are_refused_at_run_time(cluster, monkeypatch, ref):
    from pantrypulse_tasks import config

    bag, _ = cluster
    monkeypatch.setattr(config, "read_pipeline_configmap", lambda _k: {"INGESTION_IMAGE": ref})
    with pytest.raises(config.ConfigError, match="INGESTION_IMAGE"):
        _pod(bag.dags["pantrypulse_daily"], "ingest")


def test_missing_image_key_names_the_configmap(cluster, monkeypatch):
    from pantrypulse_tasks import config

    bag, _ = cluster
    monkeypatch.setattr(config, "read_pipeline_configmap", lambda _k: {})
    with pytest.raises(config.ConfigError, match="pantrypulse/pantrypulse-pipeline key DBT_IMAGE"):
        _pod(bag.dags["pantrypulse_daily"], "silver")


class FakeTrino:
    """Records statements; fails every statement on tables named in `broken`."""

    def __init__(self, tables, broken=()):
        self.tables, self.broken, self.statements = tables, set(broken), []

    def get_records(self, sql):
        self.statements.append(sql)
        return self.tables

    def run(self, sql):
        self.statements.append(sql)
        if any(f'"{t}"' in sql for t in self.broken):
            raise RuntimeError("Query failed")


def _run_trino_maintenance(monkeypatch, fake, retention=7):
    from airflow.providers.trino.hooks import trino

    bag = load_dagbag("kubernetes", DAGS__K8S_IN_CLUSTER="false")
    task = bag.dags["lakehouse_maintenance"].get_task("maintain")
    monkeypatch.setattr(trino, "TrinoHook", lambda **kw: fake)
    task.render_template_fields(
        {"params": {"retention_days": retention}},
        jinja_env=bag.dags["lakehouse_maintenance"].get_template_env(),
    )
    return task.execute({})


def test_trino_maintenance_statements(monkeypatch):
    fake = FakeTrino([("bronze", "invoices_raw"), ("gold", "fct_spend_monthly")])
    result = _run_trino_maintenance(monkeypatch, fake)
    assert result["tables"] == ["bronze.invoices_raw", "gold.fct_spend_monthly"]
    assert "information_schema.tables" in fake.statements[0]
    assert "'bronze', 'resolution', 'silver', 'gold'" in fake.statements[0]
    assert fake.statements[1:4] == [
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "optimize(file_size_threshold => '128MB')",
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "expire_snapshots(retention_threshold => '7d')",
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "remove_orphan_files(retention_threshold => '7d')",
    ]
    assert len(fake.statements) == 7


def test_trino_maintenance_goes_on_after_a_failing_table_then_fails(monkeypatch):
    from airflow.sdk.exceptions import AirflowException

    fake = FakeTrino([("bronze", "invoices_raw"), ("silver", "products")], broken=["invoices_raw"])
    with pytest.raises(AirflowException, match=r"bronze\.invoices_raw"):
        _run_trino_maintenance(monkeypatch, fake)
    assert any('"products" EXECUTE remove_orphan_files' in s for s in fake.statements)


def test_bronze_stream_statement_builder():
    from pantrypulse_tasks.maintenance import bronze_stream_statements

    assert bronze_stream_statements("lakehouse", "bronze", "invoices_raw", 6, "ingest_date") == [
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "optimize(file_size_threshold => '128MB') "
        "WHERE \"ingest_date\" >= current_date - interval '1' day",
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "expire_snapshots(retention_threshold => '6h')",
    ]
    assert bronze_stream_statements("lakehouse", "bronze", "load_log", 2, None, since_days=3) == [
        'ALTER TABLE "lakehouse"."bronze"."load_log" EXECUTE '
        "optimize(file_size_threshold => '128MB')",
        'ALTER TABLE "lakehouse"."bronze"."load_log" EXECUTE '
        "expire_snapshots(retention_threshold => '2h')",
    ]
    with pytest.raises(ValueError, match="retention_hours"):
        bronze_stream_statements("lakehouse", "bronze", "load_log", 0, None)
    with pytest.raises(ValueError, match="identifier"):
        bronze_stream_statements("lakehouse", "bronze", "x; drop", 6, None)


def _run_bronze_stream_maintenance(monkeypatch, fake, params):
    from airflow.providers.trino.hooks import trino

    bag = load_dagbag("kubernetes", DAGS__K8S_IN_CLUSTER="false")
    dag = bag.dags["bronze_stream_maintenance"]
    task = dag.get_task("maintain")
    monkeypatch.setattr(trino, "TrinoHook", lambda **kw: fake)
    task.render_template_fields({"params": params}, jinja_env=dag.get_template_env())
    return task.execute({})


def test_trino_bronze_stream_maintenance(monkeypatch):
    # invoices_rejected does not exist yet (no rejects streamed): skipped, not an error.
    fake = FakeTrino([("bronze", "invoices_raw"), ("bronze", "load_log")])
    result = _run_bronze_stream_maintenance(
        monkeypatch, fake, {"snapshot_retention_hours": 6, "compact_since_days": 1}
    )
    assert result["tables"] == ["bronze.invoices_raw", "bronze.load_log"]
    assert result["skipped"] == ["bronze.invoices_rejected"]
    assert (result["retention_hours"], result["since_days"]) == (6, 1)
    assert "table_schema IN ('bronze')" in fake.statements[0]
    assert fake.statements[1:] == [
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "optimize(file_size_threshold => '128MB') "
        "WHERE \"ingest_date\" >= current_date - interval '1' day",
        'ALTER TABLE "lakehouse"."bronze"."invoices_raw" EXECUTE '
        "expire_snapshots(retention_threshold => '6h')",
        'ALTER TABLE "lakehouse"."bronze"."load_log" EXECUTE '
        "optimize(file_size_threshold => '128MB')",
        'ALTER TABLE "lakehouse"."bronze"."load_log" EXECUTE '
        "expire_snapshots(retention_threshold => '6h')",
    ]
    assert not any("remove_orphan_files" in s for s in fake.statements)


def test_trino_bronze_stream_maintenance_goes_on_after_a_failing_table(monkeypatch):
    from airflow.sdk.exceptions import AirflowException

    tables = [("bronze", "invoices_raw"), ("bronze", "invoices_rejected"), ("bronze", "load_log")]
    fake = FakeTrino(tables, broken=["invoices_raw"])
    with pytest.raises(AirflowException, match=r"bronze\.invoices_raw"):
        _run_bronze_stream_maintenance(
            monkeypatch, fake, {"snapshot_retention_hours": 12, "compact_since_days": 0}
        )
    assert any(
        "\"load_log\" EXECUTE expire_snapshots(retention_threshold => '12h')" in s
        for s in fake.statements
    )
    assert any("interval '0' day" in s for s in fake.statements)

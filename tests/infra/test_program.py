"""The program under mocks: every service present, wired to the others, in dependency order."""

from __future__ import annotations

import json

import lakehouse_rules
from helpers import depends_on, props, rkey, secret_value, walk

from lakehouse import render, settings, wiring
from lakehouse.render import fake_password

RELEASES = {
    "traefik": wiring.NS_INGRESS,
    "minio-operator": wiring.NS_MINIO_OPERATOR,
    "cnpg": wiring.NS_CNPG,
    "strimzi": wiring.NS_KAFKA,
    "nessie": wiring.NS_LAKEHOUSE,
    "trino": wiring.NS_LAKEHOUSE,
    "airflow": wiring.NS_AIRFLOW,
    "superset": wiring.NS_SUPERSET,
    "kube-prometheus-stack": wiring.NS_MONITORING,
    "loki": wiring.NS_MONITORING,
    "alloy": wiring.NS_MONITORING,
    "argocd": wiring.NS_ARGOCD,
}
COMPONENTS = {
    "Cluster",
    "IngressController",
    "Monitoring",
    "ObjectStore",
    "Databases",
    "Catalog",
    "QueryEngine",
    "Streaming",
    "Orchestrator",
    "BI",
    "Logging",
    "Handoff",
    "GitOps",
    "Routes",
}


def test_every_platform_service_is_declared(rendered: render.Rendering) -> None:
    releases = {r.inputs["name"]: r.inputs["namespace"] for r in rendered.releases}
    assert releases == RELEASES
    assert {
        r.type.split(":")[-1] for r in rendered.records if r.type.startswith("lakehouse:platform:")
    } == COMPONENTS
    rendered.get("Tenant", wiring.TENANT, wiring.NS_LAKEHOUSE)
    for db in wiring.DATABASES:
        rendered.get("Cluster", wiring.pg_cluster(db), wiring.NS_DATABASES)
    rendered.get("Kafka", wiring.KAFKA_CLUSTER, wiring.NS_KAFKA)
    assert {p.inputs["metadata"]["name"] for p in rendered.by_kind("KafkaNodePool")} == {
        "controllers",
        "brokers",
    }
    rendered.get("Application", wiring.GITOPS_ROOT_APP, wiring.NS_ARGOCD)
    rendered.get("ConfigMap", wiring.ENDPOINTS_CONFIGMAP, wiring.NS_PANTRYPULSE)


def test_each_release_is_pinned_to_the_version_catalog(rendered: render.Rendering) -> None:
    charts = rendered.settings.versions.charts
    by_chart = {c.chart: c for c in charts.values()}
    for r in rendered.releases:
        chart_name = r.inputs["chart"].rsplit("/", 1)[-1]
        pinned = by_chart[chart_name]
        assert r.inputs["version"] == pinned.version
        assert r.inputs["chart"] == chart_name or r.inputs["chart"] == f"{pinned.repo}/{chart_name}"


def test_namespaces_have_pod_security_and_default_deny(rendered: render.Rendering) -> None:
    names = {n.inputs["metadata"]["name"] for n in rendered.by_kind("Namespace")}
    assert names == {n.name for n in wiring.NAMESPACES}
    for required in (
        "lakehouse",
        "databases",
        "kafka",
        "airflow",
        "superset",
        "monitoring",
        "argocd",
        "pantrypulse",
    ):
        assert required in names
    for ns in wiring.NAMESPACES:
        labels = rendered.get("Namespace", ns.name).inputs["metadata"]["labels"]
        assert labels["pod-security.kubernetes.io/enforce"] == ns.enforce
        deny = rendered.get("NetworkPolicy", "default-deny", ns.name).inputs["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
        assert ns.enforce == "restricted" or ns.why, (
            f"{ns.name} relaxes Pod Security without a reason"
        )


def _ingress_sources(rendered: render.Rendering, namespace: str) -> set[str]:
    out = set()
    for p in rendered.by_kind("NetworkPolicy"):
        if p.inputs["metadata"]["namespace"] != namespace:
            continue
        for rule in p.inputs["spec"].get("ingress", []):
            for peer in rule.get("from", []):
                sel = peer.get("namespaceSelector", {}).get("matchLabels", {})
                if "kubernetes.io/metadata.name" in sel:
                    out.add(sel["kubernetes.io/metadata.name"])
    return out


def test_network_allows_match_who_calls_whom(dev: render.Rendering) -> None:
    # Nessie (lakehouse) reaches PostgreSQL; Airflow and Superset too; nothing else does.
    assert _ingress_sources(dev, wiring.NS_DATABASES) == {
        wiring.NS_LAKEHOUSE,
        wiring.NS_AIRFLOW,
        wiring.NS_SUPERSET,
        wiring.NS_MONITORING,
        wiring.NS_CNPG,
    }
    assert _ingress_sources(dev, wiring.NS_KAFKA) == {
        wiring.NS_AIRFLOW,
        wiring.NS_PANTRYPULSE,
        wiring.NS_MONITORING,
    }
    assert wiring.NS_PANTRYPULSE in _ingress_sources(dev, wiring.NS_LAKEHOUSE)
    assert _ingress_sources(dev, wiring.NS_PANTRYPULSE) == {wiring.NS_MONITORING}


def test_every_kubernetes_resource_uses_the_cluster_provider_and_a_component_parent(
    rendered: render.Rendering,
) -> None:
    for r in rendered.records:
        if r.type.startswith("kubernetes:"):
            assert "pulumi:providers:kubernetes::k8s::" in r.provider, rkey(r)
            assert "$lakehouse:platform:" in r.parent, f"{rkey(r)} is not a component's child"


CR_NEEDS = {
    "Tenant": "kubernetes:helm.sh/v3:Release::minio-operator",
    "Cluster": "kubernetes:helm.sh/v3:Release::cnpg",
    "ScheduledBackup": "kubernetes:helm.sh/v3:Release::cnpg",
    "Kafka": "kubernetes:helm.sh/v3:Release::strimzi",
    "KafkaNodePool": "kubernetes:helm.sh/v3:Release::strimzi",
    "ServiceMonitor": "kubernetes:helm.sh/v3:Release::kube-prometheus-stack",
    "PodMonitor": "kubernetes:helm.sh/v3:Release::kube-prometheus-stack",
    "Application": "kubernetes:helm.sh/v3:Release::argocd",
}


def test_operators_come_before_their_custom_resources(rendered: render.Rendering) -> None:
    checked = 0
    for r in rendered.objects:
        kind = r.inputs["kind"]
        if kind in CR_NEEDS:
            assert CR_NEEDS[kind] in depends_on(rendered, r), (
                f"{kind} {r.name} does not wait for its operator"
            )
            checked += 1
    assert checked >= 10


def test_services_wait_for_what_they_use(rendered: render.Rendering) -> None:
    nessie = depends_on(rendered, rendered.release("nessie"))
    assert "kubernetes:postgresql.cnpg.io/v1:Cluster::pg-nessie" in nessie
    assert "kubernetes:batch/v1:Job::minio-setup" in nessie
    assert "kubernetes:helm.sh/v3:Release::nessie" in depends_on(
        rendered, rendered.release("trino")
    )
    assert "kubernetes:helm.sh/v3:Release::trino" in depends_on(
        rendered, rendered.release("superset")
    )
    assert "kubernetes:postgresql.cnpg.io/v1:Cluster::pg-airflow" in depends_on(
        rendered, rendered.release("airflow")
    )
    # Depending on a component means waiting for its children: the root app comes last.
    root = depends_on(rendered, rendered.get("Application", wiring.GITOPS_ROOT_APP))
    for child in (
        "batch/v1:Job::minio-setup",
        "helm.sh/v3:Release::airflow",
        "core/v1:ConfigMap::platform-endpoints",
        "helm.sh/v3:Release::superset",
    ):
        assert f"kubernetes:{child}" in root


def test_every_namespaced_object_waits_for_its_namespace(rendered: render.Rendering) -> None:
    for r in rendered.objects:
        ns = r.inputs["metadata"].get("namespace")
        if ns:
            assert f"kubernetes:core/v1:Namespace::ns-{ns}" in depends_on(rendered, r), rkey(r)


# --- wiring -----------------------------------------------------------------------------------


def test_generated_database_password_reaches_every_secret_that_uses_it(
    rendered: render.Rendering,
) -> None:
    """The faked provider output (RandomPassword.result) must flow into the dependent Secrets."""
    for db in wiring.DATABASES:
        password = fake_password(f"pg-{db}-password", 32)
        owner = rendered.get(
            "Secret", f"{wiring.pg_cluster(db)}-app-credentials", wiring.NS_DATABASES
        )
        assert owner.inputs["type"] == "kubernetes.io/basic-auth"
        assert owner.inputs["stringData"] == {"username": db, "password": password}
        # Pulumi keeps the whole stringData secret (a secret input taints its container).
        assert {"stringData", "stringData.password"} & set(owner.secret_paths)
    assert secret_value(rendered, wiring.NS_LAKEHOUSE, "nessie-db", "password") == fake_password(
        "pg-nessie-password", 32
    )
    connection = secret_value(rendered, wiring.NS_AIRFLOW, "airflow-metadata", "connection")
    assert connection == (
        f"postgresql://airflow:{fake_password('pg-airflow-password', 32)}@"
        f"{wiring.pg_host('airflow')}:5432/airflow?sslmode=require"
    )
    env = rendered.get("Secret", "superset-platform-env", wiring.NS_SUPERSET).inputs["stringData"]
    assert env["DB_PASS"] == fake_password("pg-superset-password", 32)
    assert env["DB_HOST"] == wiring.pg_host("superset")


def test_database_clusters_bootstrap_from_those_secrets(rendered: render.Rendering) -> None:
    for db in wiring.DATABASES:
        spec = rendered.get("Cluster", wiring.pg_cluster(db)).inputs["spec"]
        initdb = spec["bootstrap"]["initdb"]
        assert initdb == {
            "database": db,
            "owner": db,
            "secret": {"name": f"{wiring.pg_cluster(db)}-app-credentials"},
        }
        assert spec["instances"] == rendered.settings.size("postgres").replicas


def test_catalog_query_engine_and_hand_off_agree(rendered: render.Rendering) -> None:
    nessie = rendered.release("nessie").inputs["values"]
    assert nessie["versionStoreType"] == "JDBC2"
    assert nessie["jdbc"]["jdbcUrl"] == f"jdbc:postgresql://{wiring.pg_host('nessie')}:5432/nessie"
    iceberg = nessie["catalog"]["iceberg"]
    assert iceberg["defaultWarehouse"] == "warehouse"
    assert iceberg["warehouses"] == [{"name": "warehouse", "location": "s3://warehouse/"}]
    s3 = nessie["catalog"]["storage"]["s3"]["defaultOptions"]
    trino = props(rendered.release("trino").inputs["values"]["catalogs"]["lakehouse"])
    endpoints = rendered.get("ConfigMap", wiring.ENDPOINTS_CONFIGMAP, wiring.NS_PANTRYPULSE).inputs[
        "data"
    ]
    assert trino["connector.name"] == "iceberg"
    assert trino["iceberg.catalog.type"] == "rest"
    # Hourly bronze expiry keeps hours, not days (dags/bronze_stream_maintenance.py).
    assert trino["iceberg.expire-snapshots.min-retention"] == "1h"
    assert "iceberg.remove-orphan-files.min-retention" not in trino  # Trino's 7d default
    assert (
        trino["iceberg.rest-catalog.uri"]
        == endpoints["ICEBERG_CATALOG_URI"]
        == "http://nessie.lakehouse.svc:19120/iceberg"
    )
    assert (
        trino["iceberg.rest-catalog.warehouse"]
        == endpoints["ICEBERG_WAREHOUSE"]
        == iceberg["defaultWarehouse"]
    )
    assert trino["s3.endpoint"] == s3["endpoint"] == endpoints["S3_ENDPOINT"]
    assert trino["s3.region"] == s3["region"] == endpoints["S3_REGION"]
    assert endpoints["TRINO_CATALOG"] == "lakehouse"
    assert endpoints["TRINO_HOST"] == "trino.lakehouse.svc"
    assert endpoints["BUCKET_WAREHOUSE"] == "warehouse"
    assert endpoints["BUCKET_LANDING"] == "landing"
    # Trino reads its S3 key from the Secret the object store generated for it.
    envfrom = [
        e["secretRef"]["name"] for e in rendered.release("trino").inputs["values"]["envFrom"]
    ]
    assert wiring.s3_secret_name("trino") in envfrom
    rendered.get("Secret", wiring.s3_secret_name("trino"), wiring.NS_LAKEHOUSE)
    assert s3["accessKeySecret"]["name"] == wiring.s3_secret_name("nessie")


def test_kafka_bootstrap_in_hand_off_matches_the_listener(rendered: render.Rendering) -> None:
    listener = rendered.get("Kafka", wiring.KAFKA_CLUSTER).inputs["spec"]["kafka"]["listeners"][0]
    endpoints = rendered.get("ConfigMap", wiring.ENDPOINTS_CONFIGMAP).inputs["data"]
    assert endpoints["KAFKA_BOOTSTRAP"] == f"lakehouse-kafka-bootstrap.kafka.svc:{listener['port']}"
    airflow_vars = rendered.get("ConfigMap", "airflow-variables", wiring.NS_AIRFLOW).inputs["data"]
    assert airflow_vars["AIRFLOW_VAR_KAFKA_BOOTSTRAP"] == endpoints["KAFKA_BOOTSTRAP"]
    assert endpoints["KAFKA_INVOICES_TOPIC"] == "pantrypulse.invoices.v1"
    # The topic itself is ArgoCD's: Pulumi declares no KafkaTopic or KafkaUser.
    assert not rendered.by_kind("KafkaTopic")
    assert not rendered.by_kind("KafkaUser")


def test_one_least_privilege_s3_user_per_consumer(rendered: render.Rendering) -> None:
    policies = rendered.get("ConfigMap", "minio-policies", wiring.NS_LAKEHOUSE).inputs["data"]
    assert set(policies) == {f"{c.name}.json" for c in wiring.S3_CONSUMERS}
    access_keys = set()
    for c in wiring.S3_CONSUMERS:
        statements = json.loads(policies[f"{c.name}.json"])["Statement"]
        resources = {res for st in statements for res in st["Resource"]}
        allowed = set(c.read_write) | set(c.read_only)
        assert {res.removeprefix("arn:aws:s3:::").split("/")[0] for res in resources} == allowed
        actions = {a for st in statements for a in st["Action"]}
        assert not any(a.endswith("*") or a.startswith("admin:") for a in actions)
        for st in statements:
            if "s3:PutObject" in st["Action"]:
                assert {res.split(":::")[1].split("/")[0] for res in st["Resource"]} <= set(
                    c.read_write
                )
        data = secret_value(
            rendered, c.namespace, wiring.s3_secret_name(c.name), "AWS_SECRET_ACCESS_KEY"
        )
        assert data == fake_password(f"s3-{c.name}-secret-key", 40)
        access_keys.add(
            secret_value(rendered, c.namespace, wiring.s3_secret_name(c.name), "AWS_ACCESS_KEY_ID")
        )
    assert len(access_keys) == len(wiring.S3_CONSUMERS)
    job = rendered.get("Job", "minio-setup", wiring.NS_LAKEHOUSE).inputs["spec"]["template"]["spec"]
    mounted = {v["secret"]["secretName"] for v in job["volumes"] if "secret" in v}
    assert mounted == {wiring.s3_secret_name(c.name) for c in wiring.S3_CONSUMERS} | {
        "minio-root-credentials"
    }
    env = {e["name"]: e.get("value") for e in job["containers"][0]["env"]}
    assert env["BUCKETS"].split() == list(wiring.BUCKETS)


def test_airflow_is_wired_without_manual_steps(rendered: render.Rendering) -> None:
    values = rendered.release("airflow").inputs["values"]
    assert values["executor"] == "KubernetesExecutor"
    assert values["data"]["metadataSecretName"] == "airflow-metadata"
    assert values["postgresql"]["enabled"] is False
    git = values["dags"]["gitSync"]
    assert git["enabled"] is True
    assert git["rev"] == rendered.settings.platform.airflow.dags_ref
    assert git["repo"] == rendered.settings.platform.gitops.repo_url
    logging_ = values["config"]["logging"]
    assert logging_["remote_base_log_folder"] == f"s3://{wiring.BUCKET_AIRFLOW_LOGS}/"
    conns = rendered.get("Secret", "airflow-connections", wiring.NS_AIRFLOW).inputs["stringData"]
    logs = json.loads(conns[f"AIRFLOW_CONN_{logging_['remote_log_conn_id'].upper()}"])
    assert logs["login"] == secret_value(
        rendered, wiring.NS_AIRFLOW, wiring.s3_secret_name("airflow-logs"), "AWS_ACCESS_KEY_ID"
    )
    assert logs["password"] == fake_password("s3-airflow-logs-secret-key", 40)
    assert logs["extra"]["endpoint_url"] == wiring.S3_ENDPOINT
    trino = json.loads(conns["AIRFLOW_CONN_TRINO_DEFAULT"])
    assert (trino["host"], trino["port"], trino["schema"]) == (
        wiring.TRINO_SERVICE,
        8080,
        "lakehouse",
    )
    for name in ("airflow-connections",):
        assert f"name: {name}" in values["extraEnvFrom"]
    assert "name: airflow-variables" in values["extraEnvFrom"]
    assert values["statsd"]["enabled"] is True
    rendered.get("ServiceMonitor", "airflow-statsd", wiring.NS_AIRFLOW)


def test_superset_gets_trino_its_database_and_generated_secrets(rendered: render.Rendering) -> None:
    values = rendered.release("superset").inputs["values"]
    env = rendered.get("Secret", values["envFromSecret"], wiring.NS_SUPERSET).inputs["stringData"]
    assert env["SUPERSET_SECRET_KEY"] == fake_password("superset-secret-key", 64)
    assert env["ADMIN_PASSWORD"] == fake_password("superset-admin-password", 24)
    assert env["TRINO_SQLALCHEMY_URI"].startswith("trino://superset")
    assert env["TRINO_SQLALCHEMY_URI"].endswith("@trino.lakehouse.svc:8080/lakehouse")
    assert f"trino=={rendered.settings.versions.trino_python_client}" in values["bootstrapScript"]
    assert "set-database-uri" in values["init"]["initscript"]
    assert values["redis"]["enabled"] is False
    assert values["postgresql"]["enabled"] is False


def test_root_application_points_at_this_environment(rendered: render.Rendering) -> None:
    app = rendered.get("Application", wiring.GITOPS_ROOT_APP, wiring.NS_ARGOCD).inputs["spec"]
    assert app["source"]["path"] == f"argocd/{rendered.settings.name}"
    assert app["source"]["repoURL"] == rendered.settings.platform.gitops.repo_url
    assert app["source"]["targetRevision"] == rendered.settings.platform.gitops.target_revision
    assert app["syncPolicy"]["automated"] == {"prune": True, "selfHeal": True}
    assert rendered.exports["gitops_root_path"] == f"argocd/{rendered.settings.name}"


def test_service_monitors_exist_for_services_with_metrics(rendered: render.Rendering) -> None:
    monitors = {
        (m.inputs["metadata"]["namespace"], m.inputs["metadata"]["name"])
        for m in rendered.by_kind("ServiceMonitor")
    }
    assert {
        ("lakehouse", "minio"),
        ("lakehouse", "nessie"),
        ("lakehouse", "trino"),
        ("airflow", "airflow-statsd"),
        ("argocd", "argocd-server"),
    } <= monitors
    pods = {m.inputs["metadata"]["name"] for m in rendered.by_kind("PodMonitor")}
    assert pods == {"postgres", "kafka"}


def test_outputs_tell_the_user_where_things_are(rendered: render.Rendering) -> None:
    ex = rendered.exports
    domain = rendered.settings.platform.ingress.domain
    scheme = "https" if rendered.settings.platform.ingress.tls else "http"
    assert ex["urls"] == {
        h: f"{scheme}://{h}.{domain}"
        for h in ("airflow", "superset", "trino", "minio", "grafana", "argocd")
    }
    for where in ex["credentials"].values():
        ns, name = where.split("/")
        rendered.get("Secret", name, ns)
    assert ex["admin_passwords"]["grafana"] == fake_password("grafana-admin-password", 24)


# --- invariants -------------------------------------------------------------------------------


def test_every_declared_resource_passes_the_platform_rules(rendered: render.Rendering) -> None:
    """The CrossGuard rules, run on everything the program declares."""
    checked = 0
    for r in rendered.records:
        assert lakehouse_rules.check(r.type, r.inputs) == {}, rkey(r)
        checked += 1
    assert checked > 100


def test_directly_declared_workloads_are_checked(rendered: render.Rendering) -> None:
    workloads = [
        r
        for r in rendered.objects
        if lakehouse_rules.pod_spec(r.inputs["kind"], r.inputs) is not None
    ]
    assert {r.inputs["kind"] for r in workloads} == {"Job", "CronJob"}
    for r in workloads:
        spec = lakehouse_rules.pod_spec(r.inputs["kind"], r.inputs)
        assert spec["automountServiceAccountToken"] is False
        for c in spec["containers"]:
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["resources"]["requests"]
            assert c["resources"]["limits"]


def test_only_the_ingress_controller_is_reachable_from_outside(rendered: render.Rendering) -> None:
    assert not rendered.by_kind("Service")
    external = [
        (r.inputs["name"], node["type"])
        for r in rendered.releases
        for node in walk(r.inputs["values"])
        if isinstance(node, dict) and node.get("type") in ("LoadBalancer", "NodePort")
    ]
    assert external == [("traefik", rendered.settings.platform.ingress.service_type)]


def test_operator_managed_pods_have_requests_and_limits(rendered: render.Rendering) -> None:
    tenant = rendered.get("Tenant", wiring.TENANT).inputs["spec"]["pools"][0]
    assert tenant["resources"] == rendered.settings.size("minio").resources()
    assert tenant["containerSecurityContext"]["runAsNonRoot"] is True
    for pool, size in (("controllers", "kafka_controller"), ("brokers", "kafka_broker")):
        spec = rendered.get("KafkaNodePool", pool).inputs["spec"]
        assert spec["resources"] == rendered.settings.size(size).resources()
        assert spec["replicas"] == rendered.settings.size(size).replicas
    for db in wiring.DATABASES:
        assert (
            rendered.get("Cluster", wiring.pg_cluster(db)).inputs["spec"]["resources"]
            == rendered.settings.size("postgres").resources()
        )


def test_every_size_in_the_data_is_applied_somewhere(rendered: render.Rendering) -> None:
    """Each workload size reaches the objects or chart values (no size is declared and ignored)."""
    everything = [r.inputs for r in rendered.objects] + [
        r.inputs["values"] for r in rendered.releases
    ]
    found = [node for tree in everything for node in walk(tree) if isinstance(node, dict)]
    for name in settings.SIZE_NAMES:
        assert rendered.settings.size(name).resources() in found, f"sizes.{name} is not used"


def test_prod_is_highly_available(prod: render.Rendering) -> None:
    v = {r.inputs["name"]: r.inputs["values"] for r in prod.releases}
    stateless = {
        "nessie": v["nessie"]["replicaCount"],
        "trino workers": v["trino"]["server"]["workers"],
        "airflow scheduler": v["airflow"]["scheduler"]["replicas"],
        "airflow api": v["airflow"]["apiServer"]["replicas"],
        "airflow dag processor": v["airflow"]["dagProcessor"]["replicas"],
        "airflow triggerer": v["airflow"]["triggerer"]["replicas"],
        "superset": v["superset"]["supersetNode"]["replicaCount"],
        "grafana": v["kube-prometheus-stack"]["grafana"]["replicas"],
        "argocd server": v["argocd"]["server"]["replicas"],
        "argocd repo": v["argocd"]["repoServer"]["replicas"],
        "traefik": v["traefik"]["deployment"]["replicas"],
        "minio operator": v["minio-operator"]["operator"]["replicaCount"],
        "cnpg operator": v["cnpg"]["replicaCount"],
    }
    assert {k: n for k, n in stateless.items() if n < 2} == {}
    for pool in ("controllers", "brokers"):
        assert prod.get("KafkaNodePool", pool).inputs["spec"]["replicas"] >= 3
    for db in wiring.DATABASES:
        spec = prod.get("Cluster", wiring.pg_cluster(db)).inputs["spec"]
        assert spec["instances"] >= 3
        assert spec["enablePDB"] is True
    assert prod.get("Tenant", wiring.TENANT).inputs["spec"]["pools"][0]["servers"] >= 3
    # A PDB for every replicated stateless workload we size (operators make their own for Kafka/PG).
    pdbs = {p.inputs["metadata"]["name"] for p in prod.by_kind("PodDisruptionBudget")}
    assert len(pdbs) == len(settings.STATELESS_HA)
    for p in prod.by_kind("PodDisruptionBudget"):
        assert p.inputs["spec"]["maxUnavailable"] == 1
        assert p.inputs["spec"]["selector"]["matchLabels"]


def test_prod_secures_kafka_trino_backups_and_tls(prod: render.Rendering) -> None:
    kafka = prod.get("Kafka", wiring.KAFKA_CLUSTER).inputs["spec"]["kafka"]
    assert kafka["listeners"] == [
        {
            "name": "tls",
            "port": 9093,
            "type": "internal",
            "tls": True,
            "authentication": {"type": "scram-sha-512"},
        }
    ]
    assert kafka["authorization"] == {"type": "simple"}
    assert kafka["config"]["min.insync.replicas"] == 2
    trino = prod.release("trino").inputs["values"]
    assert trino["server"]["config"]["authenticationType"] == "PASSWORD"
    password_db = secret_value(
        prod, wiring.NS_LAKEHOUSE, trino["auth"]["passwordAuthSecret"], "password.db"
    )
    assert [line.split(":")[0] for line in password_db.splitlines()] == list(wiring.TRINO_USERS)
    assert all(line.split(":", 1)[1].startswith("$2y$10$") for line in password_db.splitlines())
    for db in wiring.DATABASES:
        backup = prod.get("Cluster", wiring.pg_cluster(db)).inputs["spec"]["backup"][
            "barmanObjectStore"
        ]
        assert backup["destinationPath"] == f"s3://backups/{db}"
        assert backup["s3Credentials"]["accessKeyId"]["name"] == wiring.s3_secret_name("backups")
        sb = prod.get("ScheduledBackup", f"{wiring.pg_cluster(db)}-daily").inputs["spec"]
        assert sb["cluster"] == {"name": wiring.pg_cluster(db)}
    for ing in prod.by_kind("Ingress"):
        assert (
            ing.inputs["metadata"]["annotations"]["traefik.ingress.kubernetes.io/router.tls"]
            == "true"
        )
    assert prod.release("traefik").inputs["values"]["service"]["type"] == "LoadBalancer"
    assert {r.type for r in prod.records} >= {
        "digitalocean:index/kubernetesCluster:KubernetesCluster"
    }


def test_dev_is_a_kind_cluster_without_prod_extras(dev: render.Rendering) -> None:
    kind = next(r for r in dev.records if r.type == "command:local:Command")
    assert "kind create cluster --name lakehouse-dev" in kind.inputs["create"]
    assert "containerPort: 30080" in kind.inputs["stdin"]
    assert dev.release("traefik").inputs["values"]["service"]["type"] == "NodePort"
    assert not dev.by_kind("ScheduledBackup")
    assert not dev.by_kind("PodDisruptionBudget")
    assert (
        dev.get("Kafka", wiring.KAFKA_CLUSTER).inputs["spec"]["kafka"]["listeners"][0]["tls"]
        is False
    )
    assert "auth" not in dev.release("trino").inputs["values"]


def test_dependency_helper_sees_a_missing_edge(dev: render.Rendering) -> None:
    """The ordering tests can fail: the Handoff ConfigMap does not wait for the PG operator."""
    deps = depends_on(dev, dev.get("ConfigMap", wiring.ENDPOINTS_CONFIGMAP))
    assert "kubernetes:core/v1:Namespace::ns-pantrypulse" in deps
    assert "kubernetes:helm.sh/v3:Release::cnpg" not in deps


def test_pulumi_leaves_the_data_workloads_to_argocd(rendered: render.Rendering) -> None:
    """In `pantrypulse` Pulumi only hands over settings and credentials; ArgoCD owns the rest."""
    kinds = {
        r.inputs["kind"]
        for r in rendered.objects
        if r.inputs["metadata"].get("namespace") == wiring.NS_PANTRYPULSE
    }
    assert kinds == {"ConfigMap", "Secret", "NetworkPolicy"}
    declared = {r.inputs["kind"] for r in rendered.objects}
    assert not {"KafkaTopic", "KafkaUser", "Deployment"} & declared

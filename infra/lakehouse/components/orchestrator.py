"""Orchestrator: Airflow (official chart, KubernetesExecutor), metadata in PG, logs in S3."""

from __future__ import annotations

import json
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import wiring
from ..k8s import child, helm_release, meta, pdb, secret, service_monitor
from ..settings import Settings

AIRFLOW_UID = 50000
PASSWORDS_FILE = "/opt/airflow/auth/passwords.json"
RELEASE = "airflow"


def _component(name: str) -> dict[str, str]:
    return {"component": name, "release": RELEASE}


def metadata_connection(password: str) -> str:
    """SQLAlchemy URL of the metadata database (the chart reads it from a Secret)."""
    host = wiring.pg_host("airflow")
    return f"postgresql://airflow:{quote(password, safe='')}@{host}:5432/airflow?sslmode=require"


def minio_logs_connection(access_key: str, secret_key: str) -> str:
    """Airflow connection (JSON form) for remote task logs in MinIO."""
    return json.dumps(
        {
            "conn_type": "aws",
            "login": access_key,
            "password": secret_key,
            "extra": {"endpoint_url": wiring.S3_ENDPOINT, "region_name": "us-east-1"},
        }
    )


def trino_connection(user: str, password: str, authenticated: bool) -> str:
    """Airflow connection (JSON form) to Trino's `lakehouse` catalog."""
    conn: dict = {
        "conn_type": "trino",
        "host": wiring.TRINO_SERVICE,
        "port": wiring.TRINO_PORT,
        "login": user,
        "schema": wiring.TRINO_CATALOG,
        "extra": {"protocol": "http"},
    }
    if authenticated:
        conn["password"] = password
    return json.dumps(conn)


class OrchestratorArgs:
    """Inputs of the orchestrator component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        db_password: pulumi.Output[str],
        database: pulumi.Resource,
        logs_key: tuple[str, pulumi.Output[str]],
        trino_password: pulumi.Output[str],
        kafka_bootstrap: str,
        kafka_security_protocol: str,
        object_store_ready: pulumi.Resource,
        monitoring: pulumi.Resource,
    ):
        self.settings = settings
        self.namespace = namespace
        self.db_password = db_password
        self.database = database
        self.logs_key = logs_key
        self.trino_password = trino_password
        self.kafka_bootstrap = kafka_bootstrap
        self.kafka_security_protocol = kafka_security_protocol
        self.object_store_ready = object_store_ready
        self.monitoring = monitoring


class Orchestrator(pulumi.ComponentResource):
    """Airflow with every connection and variable the DAGs need, created here (no manual step)."""

    admin_password: pulumi.Output[str]

    def __init__(
        self, name: str, args: OrchestratorArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("lakehouse:platform:Orchestrator", name, None, opts)
        s = args.settings
        ns_opts = child(self, args.namespace)
        ns = wiring.NS_AIRFLOW

        def rnd(res: str, length: int) -> pulumi.Output[str]:
            return random.RandomPassword(
                res, length=length, special=False, opts=pulumi.ResourceOptions(parent=self)
            ).result

        fernet = random.RandomBytes(
            "airflow-fernet-key", length=32, opts=pulumi.ResourceOptions(parent=self)
        )
        admin = rnd("airflow-admin-password", 24)
        self.admin_password = admin
        secrets = [
            secret(
                "airflow-metadata",
                "airflow-metadata",
                ns,
                {"connection": args.db_password.apply(metadata_connection)},
                ns_opts,
            ),
            # Fernet keys are url-safe base64 of 32 bytes.
            secret(
                "airflow-fernet-key",
                "airflow-fernet-key",
                ns,
                {
                    "fernet-key": fernet.base64.apply(
                        lambda b: b.replace("+", "-").replace("/", "_")
                    )
                },
                ns_opts,
            ),
            secret(
                "airflow-api-secret-key",
                "airflow-api-secret-key",
                ns,
                {"api-secret-key": rnd("airflow-api-secret", 48)},
                ns_opts,
            ),
            secret(
                "airflow-jwt-secret",
                "airflow-jwt-secret",
                ns,
                {"jwt-secret": rnd("airflow-jwt", 48)},
                ns_opts,
            ),
            secret(
                "airflow-admin",
                "airflow-admin",
                ns,
                {
                    "username": "admin",
                    "password": admin,
                    "passwords.json": admin.apply(lambda p: json.dumps({"admin": p})),
                },
                ns_opts,
            ),
            secret(
                "airflow-connections",
                "airflow-connections",
                ns,
                {
                    "AIRFLOW_CONN_MINIO_LOGS": args.logs_key[1].apply(
                        lambda sk: minio_logs_connection(args.logs_key[0], sk)
                    ),
                    "AIRFLOW_CONN_TRINO_DEFAULT": args.trino_password.apply(
                        lambda p: trino_connection(
                            "pantrypulse", p, s.platform.trino.authentication == "password"
                        )
                    ),
                },
                ns_opts,
            ),
        ]
        variables = k8s.core.v1.ConfigMap(
            "airflow-variables",
            metadata=meta("airflow-variables", ns),
            data={
                "AIRFLOW_VAR_ICEBERG_CATALOG_URI": wiring.ICEBERG_REST_URI,
                "AIRFLOW_VAR_ICEBERG_WAREHOUSE": wiring.WAREHOUSE_NAME,
                "AIRFLOW_VAR_S3_ENDPOINT": wiring.S3_ENDPOINT,
                "AIRFLOW_VAR_TRINO_CATALOG": wiring.TRINO_CATALOG,
                "AIRFLOW_VAR_KAFKA_BOOTSTRAP": args.kafka_bootstrap,
                "AIRFLOW_VAR_KAFKA_SECURITY_PROTOCOL": args.kafka_security_protocol,
                "AIRFLOW_VAR_PIPELINE_NAMESPACE": wiring.NS_PANTRYPULSE,
                "AIRFLOW_VAR_ENVIRONMENT": s.name,
            },
            opts=ns_opts,
        )
        image = s.versions.image("airflow")
        git_sync = s.versions.image("git_sync")
        sizes = {
            n: s.size(n)
            for n in (
                "airflow_scheduler",
                "airflow_api_server",
                "airflow_dag_processor",
                "airflow_triggerer",
                "airflow_statsd",
                "airflow_task",
            )
        }
        a = s.platform.airflow
        values = {
            "executor": "KubernetesExecutor",
            "airflowVersion": image.tag.split("-")[0],
            "images": {
                "airflow": {"repository": image.repository, "tag": image.tag},
                "gitSync": {"repository": git_sync.repository, "tag": git_sync.tag},
            },
            "uid": AIRFLOW_UID,
            "securityContexts": {
                "pod": {
                    "runAsNonRoot": True,
                    "runAsUser": AIRFLOW_UID,
                    "fsGroup": 0,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "containers": {
                    "allowPrivilegeEscalation": False,
                    "capabilities": {"drop": ["ALL"]},
                },
            },
            "postgresql": {"enabled": False},
            "redis": {"enabled": False},
            "pgbouncer": {"enabled": False},
            "data": {"metadataSecretName": "airflow-metadata"},
            "fernetKeySecretName": "airflow-fernet-key",
            "apiSecretKeySecretName": "airflow-api-secret-key",
            "jwtSecretName": "airflow-jwt-secret",
            "createUserJob": {"enabled": False},
            "extraEnvFrom": (
                "- secretRef:\n    name: airflow-connections\n"
                "- configMapRef:\n    name: airflow-variables\n"
            ),
            "volumes": [
                {
                    "name": "auth",
                    "secret": {
                        "secretName": "airflow-admin",
                        "items": [{"key": "passwords.json", "path": "passwords.json"}],
                    },
                }
            ],
            "volumeMounts": [{"name": "auth", "mountPath": "/opt/airflow/auth", "readOnly": True}],
            "dags": {
                "persistence": {"enabled": False},
                "gitSync": {
                    "enabled": True,
                    "repo": s.platform.gitops.repo_url,
                    "rev": a.dags_ref,
                    "subPath": a.dags_sub_path,
                    "depth": 1,
                    "period": "60s",
                },
            },
            "logs": {"persistence": {"enabled": False}},
            "config": {
                "core": {
                    "parallelism": a.parallelism,
                    "load_examples": "False",
                    "simple_auth_manager_users": "admin:admin",
                    "simple_auth_manager_passwords_file": PASSWORDS_FILE,
                },
                "logging": {
                    "remote_logging": "True",
                    "remote_base_log_folder": f"s3://{wiring.BUCKET_AIRFLOW_LOGS}/",
                    "remote_log_conn_id": "minio_logs",
                    "encrypt_s3_logs": "False",
                },
                "metrics": {"statsd_on": "True"},
                "kubernetes_executor": {"namespace": ns, "delete_worker_pods": "True"},
            },
            "scheduler": {
                "replicas": sizes["airflow_scheduler"].replicas,
                "resources": sizes["airflow_scheduler"].resources(),
            },
            "apiServer": {
                "replicas": sizes["airflow_api_server"].replicas,
                "resources": sizes["airflow_api_server"].resources(),
            },
            "dagProcessor": {
                "enabled": True,
                "replicas": sizes["airflow_dag_processor"].replicas,
                "resources": sizes["airflow_dag_processor"].resources(),
            },
            "triggerer": {
                "replicas": sizes["airflow_triggerer"].replicas,
                "resources": sizes["airflow_triggerer"].resources(),
            },
            "statsd": {"enabled": True, "resources": sizes["airflow_statsd"].resources()},
            "workers": {"resources": sizes["airflow_task"].resources()},
        }
        release = helm_release(
            RELEASE,
            s.versions.charts["airflow"],
            ns,
            values,
            child(self, *secrets, variables, args.database, args.object_store_ready),
        )
        for comp, size_name in (
            ("scheduler", "airflow_scheduler"),
            ("api-server", "airflow_api_server"),
            ("dag-processor", "airflow_dag_processor"),
            ("triggerer", "airflow_triggerer"),
        ):
            pdb(
                f"airflow-{comp}",
                ns,
                {"tier": "airflow", **_component(comp)},
                sizes[size_name],
                ns_opts,
            )
        service_monitor(
            "airflow-statsd",
            ns,
            _component("statsd"),
            "statsd-scrape",
            "/metrics",
            child(self, release, args.monitoring),
        )
        self.register_outputs({"release": RELEASE})

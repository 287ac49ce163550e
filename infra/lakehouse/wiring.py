"""Names every component and every later consumer agrees on: namespaces, buckets, services.

These are fixed by design (the data workloads, DAGs and ArgoCD apps rely on them); they are the
same in every environment. What differs per environment is in `settings`.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- namespaces -------------------------------------------------------------------------------
NS_INGRESS = "ingress"
NS_MINIO_OPERATOR = "minio-operator"
NS_CNPG = "cnpg-system"
NS_LAKEHOUSE = "lakehouse"  # MinIO tenant, Nessie, Trino
NS_DATABASES = "databases"
NS_KAFKA = "kafka"  # Strimzi operator + the Kafka cluster (KafkaTopic/KafkaUser go here)
NS_AIRFLOW = "airflow"
NS_SUPERSET = "superset"
NS_MONITORING = "monitoring"
NS_ARGOCD = "argocd"
NS_PANTRYPULSE = "pantrypulse"  # data workloads synced by ArgoCD


@dataclass(frozen=True)
class NamespaceSpec:
    """A namespace, its Pod Security level and the namespaces its pods may call."""

    name: str
    # Pod Security Admission level enforced; `warn`/`audit` are always `restricted`.
    enforce: str
    calls: tuple[str, ...] = ()
    # Ports open to any source (the ingress controller's entry points, admission webhooks).
    open_ports: tuple[int, ...] = ()
    why: str = ""


NAMESPACES: tuple[NamespaceSpec, ...] = (
    NamespaceSpec(
        NS_INGRESS,
        "restricted",
        calls=(NS_LAKEHOUSE, NS_AIRFLOW, NS_SUPERSET, NS_MONITORING, NS_ARGOCD),
        open_ports=(8000, 8443),
    ),
    NamespaceSpec(NS_MINIO_OPERATOR, "restricted", calls=(NS_LAKEHOUSE,), open_ports=(4222, 4223)),
    NamespaceSpec(NS_CNPG, "restricted", calls=(NS_DATABASES,), open_ports=(9443,)),
    NamespaceSpec(NS_LAKEHOUSE, "restricted", calls=(NS_DATABASES,)),
    NamespaceSpec(NS_DATABASES, "restricted", calls=(NS_LAKEHOUSE,)),
    NamespaceSpec(NS_KAFKA, "restricted"),
    NamespaceSpec(
        NS_AIRFLOW,
        "baseline",
        calls=(NS_LAKEHOUSE, NS_DATABASES, NS_KAFKA, NS_MONITORING),
        why="the official chart's pods do not all set a seccomp profile",
    ),
    NamespaceSpec(
        NS_SUPERSET,
        "baseline",
        calls=(NS_LAKEHOUSE, NS_DATABASES),
        why="the chart's init/bootstrap containers do not all set a seccomp profile",
    ),
    NamespaceSpec(
        NS_MONITORING,
        "privileged",
        calls=(
            NS_INGRESS,
            NS_MINIO_OPERATOR,
            NS_CNPG,
            NS_LAKEHOUSE,
            NS_DATABASES,
            NS_KAFKA,
            NS_AIRFLOW,
            NS_SUPERSET,
            NS_ARGOCD,
            NS_PANTRYPULSE,
        ),
        why="node-exporter needs hostNetwork, hostPID and hostPath to read node metrics",
    ),
    NamespaceSpec(NS_ARGOCD, "baseline", why="the chart's redis and dex images run as fixed users"),
    NamespaceSpec(NS_PANTRYPULSE, "restricted", calls=(NS_LAKEHOUSE, NS_KAFKA)),
)

# --- object store -----------------------------------------------------------------------------
TENANT = "lakehouse"
S3_SERVICE = f"minio.{NS_LAKEHOUSE}.svc"
S3_ENDPOINT = f"http://{S3_SERVICE}"
MINIO_CONSOLE_SERVICE = f"{TENANT}-console"
BUCKET_WAREHOUSE = "warehouse"  # Iceberg tables
BUCKET_LANDING = "landing"  # raw deliveries
BUCKET_AIRFLOW_LOGS = "airflow-logs"
BUCKET_BACKUPS = "backups"
BUCKET_LOKI = "loki"
BUCKETS = (BUCKET_WAREHOUSE, BUCKET_LANDING, BUCKET_AIRFLOW_LOGS, BUCKET_BACKUPS, BUCKET_LOKI)


@dataclass(frozen=True)
class S3Consumer:
    """One MinIO user: which buckets it may read and write, and where its key goes."""

    name: str
    read_write: tuple[str, ...]
    read_only: tuple[str, ...]
    namespace: str


S3_CONSUMERS: tuple[S3Consumer, ...] = (
    S3Consumer("nessie", (BUCKET_WAREHOUSE,), (), NS_LAKEHOUSE),
    S3Consumer("trino", (BUCKET_WAREHOUSE,), (BUCKET_LANDING,), NS_LAKEHOUSE),
    S3Consumer("ingestion", (BUCKET_LANDING, BUCKET_WAREHOUSE), (), NS_PANTRYPULSE),
    S3Consumer("airflow-logs", (BUCKET_AIRFLOW_LOGS,), (), NS_AIRFLOW),
    S3Consumer("backups", (BUCKET_BACKUPS,), (), NS_DATABASES),
    S3Consumer("loki", (BUCKET_LOKI,), (), NS_MONITORING),
)


def s3_secret_name(consumer: str) -> str:
    """Name of the Secret holding a consumer's S3 key (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY)."""
    return f"s3-{consumer}"


# --- databases --------------------------------------------------------------------------------
DATABASES = ("nessie", "airflow", "superset")


def pg_cluster(db: str) -> str:
    """Name of the CloudNativePG cluster that serves one database."""
    return f"{db}-pg"


def pg_host(db: str) -> str:
    """Read-write service of a database's cluster."""
    return f"{pg_cluster(db)}-rw.{NS_DATABASES}.svc"


# --- catalog / query --------------------------------------------------------------------------
NESSIE_SERVICE = f"nessie.{NS_LAKEHOUSE}.svc"
NESSIE_PORT = 19120
NESSIE_API = f"http://{NESSIE_SERVICE}:{NESSIE_PORT}/api/v2"
ICEBERG_REST_URI = f"http://{NESSIE_SERVICE}:{NESSIE_PORT}/iceberg"
WAREHOUSE_NAME = "warehouse"
WAREHOUSE_LOCATION = f"s3://{BUCKET_WAREHOUSE}/"
TRINO_SERVICE = f"trino.{NS_LAKEHOUSE}.svc"
TRINO_PORT = 8080
TRINO_CATALOG = "lakehouse"
TRINO_USERS = ("admin", "pantrypulse", "superset", "prometheus")

# --- streaming --------------------------------------------------------------------------------
KAFKA_CLUSTER = "lakehouse"
KAFKA_BOOTSTRAP_SERVICE = f"{KAFKA_CLUSTER}-kafka-bootstrap.{NS_KAFKA}.svc"
KAFKA_INVOICES_TOPIC = "pantrypulse.invoices.v1"  # created by ArgoCD, not here

# --- hand-off to the data workloads -----------------------------------------------------------
ENDPOINTS_CONFIGMAP = "platform-endpoints"
GITOPS_ROOT_APP = "lakehouse-root"


def gitops_path(environment: str) -> str:
    """Path in this repository that the root application syncs for an environment."""
    return f"argocd/{environment}"

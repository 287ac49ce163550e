"""Runner configuration for the PantryPulse DAGs.

Two kinds of settings, read at two moments:

- How this Airflow deployment runs steps (`DAGS__RUNNER=kubernetes|local`, and the
  names of the namespace, ConfigMaps and Secrets the pods use). These belong to the Airflow
  installation, not to a release of the pipeline, so they come from the process environment
  when the DAG file is parsed. Reading the environment is not I/O: parsing stays cheap.
- What a release runs (image references, pipeline settings): read at run time only, through
  template macros, from the pipeline ConfigMap that ArgoCD syncs (cluster) or from the
  environment of the local Airflow (embedded stack). Changing them never needs a DAG re-parse.

No code branches on an environment's name: dev and prod differ only in these values.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ENV_PREFIX = "DAGS__"
RUNNERS = ("kubernetes", "local")

# The repository checkout this dags folder lives in (used only by the local runner's defaults).
REPO_ROOT = Path(__file__).resolve().parents[2]


class ConfigError(ValueError):
    """A runner setting is missing or wrong; the message names the variable."""


@dataclass(frozen=True)
class KubernetesRunner:
    """Where and how step pods run in the cluster."""

    namespace: str = "pantrypulse"
    pipeline_configmap: str = "pantrypulse-pipeline"
    endpoints_configmap: str = "platform-endpoints"
    secrets: tuple[str, ...] = ("pantrypulse-source", "pantrypulse-lakehouse")
    service_account: str = "pantrypulse-pipeline"
    kubernetes_conn_id: str = "kubernetes_default"
    in_cluster: bool = True
    trino_conn_id: str = "trino_lakehouse"
    trino_catalog: str = "lakehouse"


@dataclass(frozen=True)
class LocalRunner:
    """How steps run as subprocesses against the embedded stack."""

    # The interpreter of the ingestion environment: it runs `pantrypulse` and the dbt launcher.
    python: Path = field(default=REPO_ROOT / "ingestion" / ".venv" / "bin" / "python")
    # Working directory of the subprocesses (the checkout, where `dbt/` is found).
    workdir: Path = REPO_ROOT


@dataclass(frozen=True)
class RunnerConfig:
    """The whole runner configuration of this Airflow deployment."""

    runner: str
    kubernetes: KubernetesRunner
    local: LocalRunner


def runner_config(environ: dict[str, str] | None = None) -> RunnerConfig:
    """Read the runner configuration from the environment; raise naming a bad variable."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str) -> str:
        return env.get(ENV_PREFIX + name, default)

    runner = get("RUNNER", "kubernetes")
    if runner not in RUNNERS:
        raise ConfigError(f"{ENV_PREFIX}RUNNER: expected one of {RUNNERS}, got {runner!r}")
    k = KubernetesRunner()
    in_cluster = get("K8S_IN_CLUSTER", "true").lower()
    if in_cluster not in ("true", "false"):
        raise ConfigError(f"{ENV_PREFIX}K8S_IN_CLUSTER: expected true or false, got {in_cluster!r}")
    secrets = get("K8S_SECRETS", ",".join(k.secrets))
    kubernetes = KubernetesRunner(
        namespace=get("K8S_NAMESPACE", k.namespace),
        pipeline_configmap=get("K8S_PIPELINE_CONFIGMAP", k.pipeline_configmap),
        endpoints_configmap=get("K8S_ENDPOINTS_CONFIGMAP", k.endpoints_configmap),
        secrets=tuple(s.strip() for s in secrets.split(",") if s.strip()),
        service_account=get("K8S_SERVICE_ACCOUNT", k.service_account),
        kubernetes_conn_id=get("K8S_CONN_ID", k.kubernetes_conn_id),
        in_cluster=in_cluster == "true",
        trino_conn_id=get("TRINO_CONN_ID", k.trino_conn_id),
        trino_catalog=get("TRINO_CATALOG", k.trino_catalog),
    )
    defaults = LocalRunner()
    local = LocalRunner(
        python=Path(get("LOCAL_PYTHON", str(defaults.python))),
        workdir=Path(get("LOCAL_WORKDIR", str(defaults.workdir))),
    )
    return RunnerConfig(runner=runner, kubernetes=kubernetes, local=local)


def read_pipeline_configmap(k8s: KubernetesRunner) -> dict[str, str]:
    """The pipeline ConfigMap's data, read through the Kubernetes API (run time only)."""
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    hook = KubernetesHook(conn_id=k8s.kubernetes_conn_id, in_cluster=k8s.in_cluster)
    cm = hook.core_v1_client.read_namespaced_config_map(k8s.pipeline_configmap, k8s.namespace)
    return dict(cm.data or {})


def validate_image(ref: str, source: str) -> str:
    """Refuse image references that are not pinned: no tag, or the mutable `latest`."""
    ref = ref.strip()
    name, _, digest = ref.partition("@")
    if digest:
        if not digest.startswith("sha256:"):
            raise ConfigError(f"{source}: bad digest in {ref!r}")
        return ref
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        raise ConfigError(f"{source}: image {ref!r} has no tag; pin a version or a digest")
    if last.rsplit(":", 1)[1] in ("", "latest"):
        raise ConfigError(f"{source}: image {ref!r} uses a mutable tag; pin a version")
    return ref


def image_for(kind: str, k8s: KubernetesRunner, data: dict[str, str] | None = None) -> str:
    """The image reference of `kind` (`ingestion`, `dbt`) from the pipeline ConfigMap."""
    data = read_pipeline_configmap(k8s) if data is None else data
    key = f"{kind.upper()}_IMAGE"
    source = f"ConfigMap {k8s.namespace}/{k8s.pipeline_configmap} key {key}"
    if not data.get(key):
        raise ConfigError(f"{source}: missing")
    return validate_image(data[key], source)

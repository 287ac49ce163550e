"""Typed settings: the one place that reads `environments/<env>/` (platform.yaml + versions.yaml).

Every value that differs between environments lives in those two files; code never branches on an
environment's name. A bad value stops the program with a message that names the file, the key and
the allowed values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .wiring import DATABASES

PLATFORM_FILE = "platform.yaml"
VERSIONS_FILE = "versions.yaml"

# Tags that move: an image reference carrying one of these is refused.
FLOATING_TAGS = frozenset({"latest", "stable", "main", "master", "edge", "nightly", "dev", "head"})
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.\-]+)?$")
_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^\d+(Ki|Mi|Gi|Ti)$")
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,30}[a-z0-9])?$")


class SettingsError(ValueError):
    """A bad environment setting: the message names the file, the key and what is allowed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def parse_cpu(value: str) -> float:
    """Return a Kubernetes CPU quantity ("500m", "2") in cores."""
    return float(value[:-1]) / 1000 if value.endswith("m") else float(value)


def parse_memory(value: str) -> int:
    """Return a Kubernetes memory quantity ("512Mi", "2Gi") in bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    return int(value[:-2]) * units[value[-2:]]


class Quantities(_Strict):
    """CPU and memory of one container."""

    cpu: str
    memory: str

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, v: str) -> str:
        if not _CPU.match(v):
            raise ValueError(f"a CPU quantity like '500m' or '2' is required, got {v!r}")
        return v

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not _MEMORY.match(v):
            raise ValueError(f"a memory quantity like '512Mi' or '2Gi' is required, got {v!r}")
        return v


class Size(_Strict):
    """How many pods of one workload run, and what each one requests and may use."""

    replicas: Annotated[int, Field(ge=0, le=100)] = 1
    requests: Quantities
    limits: Quantities

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> Size:
        if parse_cpu(self.limits.cpu) < parse_cpu(self.requests.cpu):
            raise ValueError("limits.cpu must be >= requests.cpu")
        if parse_memory(self.limits.memory) < parse_memory(self.requests.memory):
            raise ValueError("limits.memory must be >= requests.memory")
        return self

    def resources(self) -> dict[str, dict[str, str]]:
        """Return the Kubernetes `resources` block."""
        return {
            "requests": {"cpu": self.requests.cpu, "memory": self.requests.memory},
            "limits": {"cpu": self.limits.cpu, "memory": self.limits.memory},
        }


# Every workload whose size is data. Components read their size from here by these names.
SizeName = Literal[
    "ingress",
    "minio_operator",
    "minio",
    "minio_setup",
    "cnpg_operator",
    "postgres",
    "nessie",
    "nessie_gc",
    "trino_coordinator",
    "trino_worker",
    "strimzi_operator",
    "kafka_controller",
    "kafka_broker",
    "kafka_entity_operator",
    "airflow_scheduler",
    "airflow_api_server",
    "airflow_dag_processor",
    "airflow_triggerer",
    "airflow_statsd",
    "airflow_task",
    "superset",
    "prometheus_operator",
    "prometheus",
    "alertmanager",
    "grafana",
    "kube_state_metrics",
    "node_exporter",
    "loki",
    "alloy",
    "argocd_controller",
    "argocd_server",
    "argocd_repo_server",
    "argocd_redis",
    "argocd_applicationset",
]
SIZE_NAMES: tuple[str, ...] = SizeName.__args__  # type: ignore[attr-defined]

# Sizes that stand for more than one copy of the workload: one PostgreSQL cluster per database,
# two entity-operator containers (topics, users). Counted in the budget.
COPIES = {"postgres": len(DATABASES), "kafka_entity_operator": 2}

# Workloads without state that the HA rule asks to run at least twice.
STATELESS_HA = (
    "ingress",
    "minio_operator",
    "cnpg_operator",
    "nessie",
    "trino_worker",
    "airflow_scheduler",
    "airflow_api_server",
    "airflow_dag_processor",
    "airflow_triggerer",
    "superset",
    "grafana",
    "argocd_server",
    "argocd_repo_server",
)
# Stateful workloads that need a quorum of three under HA.
QUORUM_HA = ("kafka_controller", "kafka_broker", "postgres", "minio")


class KindCluster(_Strict):
    """A kind cluster on the user's machine, created by the program."""

    mode: Literal["kind"]
    name: str
    workers: Annotated[int, Field(ge=0, le=5)] = 0
    http_port: Annotated[int, Field(ge=1, le=65535)] = 80
    https_port: Annotated[int, Field(ge=1, le=65535)] = 443


class ExistingCluster(_Strict):
    """An existing cluster, reached through a kubeconfig file and context."""

    mode: Literal["existing"]
    kubeconfig: str
    context: str


class DigitalOceanCluster(_Strict):
    """A managed DigitalOcean Kubernetes (DOKS) cluster with an HA control plane."""

    mode: Literal["digitalocean"]
    name: str
    region: str
    kubernetes_version: str
    node_size: str
    min_nodes: Annotated[int, Field(ge=1, le=50)]
    max_nodes: Annotated[int, Field(ge=1, le=100)]
    ha_control_plane: bool = True

    @model_validator(mode="after")
    def _bounds(self) -> DigitalOceanCluster:
        if self.max_nodes < self.min_nodes:
            raise ValueError("max_nodes must be >= min_nodes")
        return self


ClusterSettings = Annotated[
    KindCluster | ExistingCluster | DigitalOceanCluster, Field(discriminator="mode")
]


class GitOps(_Strict):
    """Where ArgoCD's root application reads this repository."""

    repo_url: Annotated[str, Field(pattern=r"^https://\S+$")]
    target_revision: Annotated[str, Field(min_length=1)]


class Ingress(_Strict):
    """The one entry point from outside the cluster."""

    domain: Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")]
    service_type: Literal["NodePort", "LoadBalancer"]
    tls: bool
    acme_email: str | None = None

    @model_validator(mode="after")
    def _acme(self) -> Ingress:
        if self.tls and not self.acme_email:
            raise ValueError("tls: true needs acme_email (certificates come from ACME)")
        return self


class ObjectStore(_Strict):
    """The MinIO tenant: storage per volume and the bucket names."""

    volumes_per_server: Annotated[int, Field(ge=1, le=16)]
    volume_size: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]
    region: str = "us-east-1"


class Postgres(_Strict):
    """CloudNativePG clusters: storage and scheduled backups to the object store."""

    storage_size: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]
    backups: bool
    backup_schedule: str = "0 0 2 * * *"
    backup_retention: Annotated[str, Field(pattern=r"^\d+[dwm]$")] = "14d"


class Kafka(_Strict):
    """Strimzi Kafka (KRaft): listener security and storage."""

    listener_tls: bool
    authentication: Literal["none", "scram-sha-512"]
    storage_size: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]

    @model_validator(mode="after")
    def _scram_needs_tls(self) -> Kafka:
        if self.authentication == "scram-sha-512" and not self.listener_tls:
            raise ValueError("authentication scram-sha-512 needs listener_tls: true")
        return self


class Trino(_Strict):
    """Trino: authentication mode and JVM heap per role."""

    authentication: Literal["none", "password"]
    coordinator_heap: Annotated[str, Field(pattern=r"^\d+[MG]$")]
    worker_heap: Annotated[str, Field(pattern=r"^\d+[MG]$")]


class Airflow(_Strict):
    """Airflow: where DAGs come from (git-sync at a pinned ref)."""

    dags_ref: Annotated[str, Field(min_length=1)]
    dags_sub_path: str = "dags"
    parallelism: Annotated[int, Field(ge=1, le=256)]

    @field_validator("dags_ref")
    @classmethod
    def _pinned(cls, v: str) -> str:
        if v.lower() in FLOATING_TAGS:
            raise ValueError(f"dags_ref must be a pinned tag or commit, not {v!r}")
        return v


class Nessie(_Strict):
    """Nessie GC: when it runs and how much history it keeps."""

    gc_schedule: str
    gc_cutoff: Annotated[str, Field(pattern=r"^P(T?\d+[DHM])+$")]


class Observability(_Strict):
    """Retention of metrics and logs."""

    metrics_retention: Annotated[str, Field(pattern=r"^\d+[dh]$")]
    metrics_storage: Annotated[str, Field(pattern=r"^\d+(Mi|Gi|Ti)$")]
    logs_retention: Annotated[str, Field(pattern=r"^\d+h$")]


class Budget(_Strict):
    """Upper bound on the sum of requests (e.g. a laptop's 8 vCPU / 32 GiB)."""

    cpu: str
    memory: str


class Platform(_Strict):
    """`environments/<env>/platform.yaml`: everything about an environment except versions."""

    environment: Annotated[str, Field(pattern=_DNS_LABEL.pattern)]
    high_availability: bool
    storage_class: str | None = None
    cluster: ClusterSettings
    gitops: GitOps
    ingress: Ingress
    object_store: ObjectStore
    postgres: Postgres
    kafka: Kafka
    trino: Trino
    airflow: Airflow
    nessie: Nessie
    observability: Observability
    budget: Budget | None = None
    sizes: dict[SizeName, Size]

    @model_validator(mode="after")
    def _complete_sizes(self) -> Platform:
        missing = sorted(set(SIZE_NAMES) - set(self.sizes))
        if missing:
            raise ValueError(f"sizes is missing {', '.join(missing)}")
        return self


_SHA256 = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class ChartDigests(_Strict):
    """sha256 of the packaged chart per source the chart cache may be filled from (null: unknown).

    `mirror` is the package in a mirror folder (CHART_MIRROR), `repo` the one `helm pull` gets
    from the chart's repository. The cache refuses a package whose source has no digest here.
    """

    mirror: _SHA256 | None
    repo: _SHA256 | None


class Chart(_Strict):
    """One Helm chart: repository, name, an exact version and the digests of its package."""

    repo: Annotated[str, Field(pattern=r"^(https://|oci://)\S+$")]
    chart: Annotated[str, Field(min_length=1)]
    version: str
    sha256: ChartDigests

    @field_validator("version")
    @classmethod
    def _exact(cls, v: str) -> str:
        if not _SEMVER.match(v):
            raise ValueError(
                f"an exact version like 1.2.3 is required (no range, no tag), got {v!r}"
            )
        return v


ChartName = Literal[
    "traefik",
    "minio-operator",
    "cloudnative-pg",
    "strimzi",
    "nessie",
    "trino",
    "airflow",
    "superset",
    "kube-prometheus-stack",
    "loki",
    "alloy",
    "argo-cd",
]
CHART_NAMES: tuple[str, ...] = ChartName.__args__  # type: ignore[attr-defined]

ImageName = Literal[
    "minio",
    "mc",
    "postgres",
    "nessie",
    "nessie_gc",
    "trino",
    "airflow",
    "git_sync",
    "superset",
    "kind_node",
]
# kind_node is needed only where the cluster is a kind cluster.
OPTIONAL_IMAGES = frozenset({"kind_node"})
IMAGE_NAMES: tuple[str, ...] = ImageName.__args__  # type: ignore[attr-defined]


def check_image(ref: str) -> str:
    """Return `ref` if it names an immutable image (tag or digest); raise ValueError if not."""
    name, _, digest = ref.partition("@")
    if digest:
        if not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            raise ValueError(f"{ref!r}: a digest must be sha256:<64 hex>")
        return ref
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        raise ValueError(f"{ref!r} has no tag: pin a version tag or a digest")
    tag = last.rsplit(":", 1)[1]
    if tag.lower() in FLOATING_TAGS:
        raise ValueError(f"{ref!r} uses the floating tag {tag!r}: pin a version tag or a digest")
    return ref


class Image(_Strict):
    """An image reference split for charts that take repository and tag apart."""

    repository: str
    tag: str

    @property
    def ref(self) -> str:
        """The full reference."""
        sep = "@" if self.tag.startswith("sha256:") else ":"
        return f"{self.repository}{sep}{self.tag}"


class Versions(_Strict):
    """`environments/<env>/versions.yaml`: every chart version and image the program deploys."""

    charts: dict[ChartName, Chart]
    images: dict[ImageName, str]
    kafka_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]
    trino_python_client: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+$")]

    @field_validator("images")
    @classmethod
    def _images(cls, v: dict[str, str]) -> dict[str, str]:
        for key, ref in v.items():
            try:
                check_image(ref)
            except ValueError as exc:
                raise ValueError(f"images.{key}: {exc}") from None
        return v

    @model_validator(mode="after")
    def _complete(self) -> Versions:
        for label, have, want in (
            ("charts", self.charts, CHART_NAMES),
            ("images", self.images, tuple(set(IMAGE_NAMES) - OPTIONAL_IMAGES)),
        ):
            missing = sorted(set(want) - set(have))
            if missing:
                raise ValueError(f"{label} is missing {', '.join(missing)}")
        return self

    def image(self, name: ImageName) -> Image:
        """Return an image split into repository and tag (or digest)."""
        ref = self.images[name]
        if "@" in ref:
            repo, digest = ref.split("@", 1)
            return Image(repository=repo, tag=digest)
        repo, tag = ref.rsplit(":", 1)
        return Image(repository=repo, tag=tag)


class Settings(_Strict):
    """One environment, validated: what the program needs and nothing else."""

    platform: Platform
    versions: Versions

    @property
    def name(self) -> str:
        """The environment's name (used for labels and names only, never for decisions)."""
        return self.platform.environment

    def size(self, name: SizeName) -> Size:
        """Return the size of one workload."""
        return self.platform.sizes[name]

    @model_validator(mode="after")
    def _rules(self) -> Settings:
        p = self.platform
        if isinstance(p.cluster, KindCluster) and "kind_node" not in self.versions.images:
            raise ValueError("cluster.mode kind needs images.kind_node in versions.yaml")
        if p.high_availability:
            for name in STATELESS_HA:
                if p.sizes[name].replicas < 2:
                    raise ValueError(
                        f"sizes.{name}.replicas is {p.sizes[name].replicas}; "
                        "high_availability: true needs >= 2"
                    )
            for name in QUORUM_HA:
                if p.sizes[name].replicas < 3:
                    raise ValueError(
                        f"sizes.{name}.replicas is {p.sizes[name].replicas}; "
                        "high_availability: true needs >= 3"
                    )
        if p.budget is not None:
            cpu, mem = total_requests(p.sizes)
            if cpu > parse_cpu(p.budget.cpu) or mem > parse_memory(p.budget.memory):
                raise ValueError(
                    f"sizes request {cpu:.2f} CPU / {mem / 2**30:.1f} GiB in total; "
                    f"budget is {p.budget.cpu} CPU / {p.budget.memory}"
                )
        return self


def total_requests(sizes: dict[str, Size]) -> tuple[float, int]:
    """Return the sum of requests over every workload: (cores, bytes)."""
    cpu = sum(COPIES.get(n, 1) * s.replicas * parse_cpu(s.requests.cpu) for n, s in sizes.items())
    mem = sum(
        COPIES.get(n, 1) * s.replicas * parse_memory(s.requests.memory) for n, s in sizes.items()
    )
    return cpu, mem


def _model_at(model: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """Walk `loc` through nested models; return the model found there, if any."""
    current: Any = model
    for part in loc:
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        field = current.model_fields.get(str(part))
        if field is None:
            return None
        current = field.annotation
    if isinstance(current, type) and issubclass(current, BaseModel):
        return current
    return None


def _describe(error: dict[str, Any], root: type[BaseModel], file: str) -> str:
    loc = tuple(error["loc"])
    if not loc:
        return f"{file}: {error['msg'].removeprefix('Value error, ')}"
    key = ".".join(str(p) for p in loc) or "<top level>"
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        parent = _model_at(root, loc[:-1])
        allowed = ", ".join(sorted(parent.model_fields)) if parent else "?"
        return f"{file}: unknown key '{key}'; allowed keys here: {allowed}"
    if kind == "literal_error":
        return f"{file}: key '{key}' is {error['input']!r}; allowed values: {ctx.get('expected')}"
    if kind == "union_tag_invalid":
        return (
            f"{file}: key '{key}' has {ctx.get('discriminator')} = {ctx.get('tag')!r}; "
            f"allowed values: {ctx.get('expected_tags')}"
        )
    if kind == "missing":
        return f"{file}: key '{key}' is required"
    if kind.endswith("_type"):
        return f"{file}: key '{key}' has the wrong type ({error['msg']}); got {error['input']!r}"
    return f"{file}: key '{key}': {error['msg'].removeprefix('Value error, ')}"


def _read(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SettingsError(f"{path}: file not found")
    data = yaml.safe_load(path.read_text())
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping at the top level")
    return data


def load(env_dir: Path | str) -> Settings:
    """Read and validate `env_dir/platform.yaml` and `env_dir/versions.yaml`."""
    env_dir = Path(env_dir)
    raw = {
        PLATFORM_FILE: _read(env_dir / PLATFORM_FILE),
        VERSIONS_FILE: _read(env_dir / VERSIONS_FILE),
    }
    parsed: dict[str, Any] = {}
    problems: list[str] = []
    for file, model in ((PLATFORM_FILE, Platform), (VERSIONS_FILE, Versions)):
        try:
            parsed[file] = model.model_validate(raw[file])
        except ValidationError as exc:
            where = str(env_dir / file)
            problems += [_describe(e, model, where) for e in exc.errors()]
    if problems:
        raise SettingsError("\n".join(problems))
    if parsed[PLATFORM_FILE].environment != env_dir.name:
        raise SettingsError(
            f"{env_dir / PLATFORM_FILE}: key 'environment' is "
            f"{parsed[PLATFORM_FILE].environment!r}; allowed values: {env_dir.name!r} "
            "(the folder's name)"
        )
    try:
        return Settings(platform=parsed[PLATFORM_FILE], versions=parsed[VERSIONS_FILE])
    except ValidationError as exc:
        where = str(env_dir / PLATFORM_FILE)
        raise SettingsError(
            "\n".join(_describe(e, Settings, where) for e in exc.errors())
        ) from None


def environments_root(start: Path | None = None) -> Path:
    """Return the repository's `environments/` folder (the parent of `infra/`)."""
    here = (start or Path(__file__)).resolve()
    for parent in here.parents:
        if (parent / "environments").is_dir() and (parent / "infra").is_dir():
            return parent / "environments"
    raise SettingsError(f"no environments/ folder above {here}")

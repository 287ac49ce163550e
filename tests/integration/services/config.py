"""Where the local services live, their ports, and the data path settings shared with the cluster.

Everything is overridable by environment variables (`PP_SERVICES_*`), so two checkouts or a busy
port never collide. The catalog, S3 and Trino settings are not written here: they come from the
Pulumi program's own pure module (`infra/lakehouse/lakehouse_config.py`), called with loopback
endpoints, and from the dev environment's version catalog (`environments/dev/versions.yaml`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
INFRA = REPO / "infra"
if str(INFRA) not in sys.path:
    sys.path.insert(0, str(INFRA))

from lakehouse import lakehouse_config, wiring  # noqa: E402  (the platform program's own module)

HOST = "127.0.0.1"

# Versions of what is downloaded. Trino and Kafka follow the cluster (environments/dev);
# Nessie's runner jar is published on Maven Central only up to 0.99.0 (the cluster runs the
# 0.108 image): the REST catalog and JDBC2 settings used here are the same in both.
NESSIE_VERSION = "0.99.0"


def _env(name: str, default: str) -> str:
    return os.environ.get(f"PP_SERVICES_{name}", default)


def _port(name: str, default: int) -> int:
    return int(_env(f"{name}_PORT", str(default)))


@dataclass(frozen=True)
class Ports:
    postgres: int = field(default_factory=lambda: _port("POSTGRES", 15432))
    s3: int = field(default_factory=lambda: _port("S3", 19000))
    nessie: int = field(default_factory=lambda: _port("NESSIE", 19120))
    nessie_mgmt: int = field(default_factory=lambda: _port("NESSIE_MGMT", 19121))
    trino: int = field(default_factory=lambda: _port("TRINO", 18080))
    kafka: int = field(default_factory=lambda: _port("KAFKA", 19092))
    kafka_controller: int = field(default_factory=lambda: _port("KAFKA_CONTROLLER", 19093))


@dataclass(frozen=True)
class Config:
    """One local stack: folders, ports, credentials, versions."""

    cache: Path = field(
        default_factory=lambda: Path(_env("CACHE", str(REPO / ".cache" / "services")))
    )
    state: Path = field(
        default_factory=lambda: Path(_env("STATE", str(REPO / ".local" / "services")))
    )
    ports: Ports = field(default_factory=Ports)
    # Loopback-only test credentials (the cluster generates its own and keeps them in Secrets).
    s3_access_key: str = "pantrypulse"
    s3_secret_key: str = "pantrypulse-local-secret"
    pg_superuser_password: str = "postgres-local"
    nessie_db_password: str = "nessie-local"
    trino_user: str = "pantrypulse"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @cached_property
    def versions(self) -> dict:
        return yaml.safe_load((REPO / "environments" / "dev" / "versions.yaml").read_text())

    @property
    def trino_version(self) -> str:
        return self.versions["images"]["trino"].rsplit(":", 1)[1]

    @property
    def kafka_version(self) -> str:
        return str(self.versions["kafka_version"])

    @cached_property
    def region(self) -> str:
        """The object store region the platform program passes to Nessie and Trino."""
        from lakehouse.settings import load

        return load(REPO / "environments" / "dev").platform.object_store.region

    # --- endpoints ---------------------------------------------------------------------------
    @property
    def s3_endpoint(self) -> str:
        return f"http://{HOST}:{self.ports.s3}"

    @property
    def nessie_api(self) -> str:
        return f"http://{HOST}:{self.ports.nessie}/api/v2"

    @property
    def iceberg_rest_uri(self) -> str:
        return f"http://{HOST}:{self.ports.nessie}/iceberg"

    @property
    def trino_uri(self) -> str:
        return f"http://{HOST}:{self.ports.trino}"

    @property
    def kafka_bootstrap(self) -> str:
        return f"{HOST}:{self.ports.kafka}"

    @property
    def bucket(self) -> str:
        return wiring.BUCKET_WAREHOUSE

    @property
    def catalog_name(self) -> str:
        return wiring.TRINO_CATALOG

    def data_path(self) -> lakehouse_config.DataPath:
        """The cluster's data path, with loopback endpoints."""
        return lakehouse_config.DataPath(
            iceberg_rest_uri=self.iceberg_rest_uri,
            s3_endpoint=self.s3_endpoint,
            region=self.region,
        )

"""Query engine: Trino with the Iceberg connector over Nessie's REST catalog and S3 on MinIO."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import wiring
from ..k8s import (
    child,
    container_security,
    helm_release,
    pdb,
    pod_security,
    secret,
    service_monitor,
)
from ..lakehouse_config import cluster_data_path, properties_text, trino_iceberg_properties
from ..settings import Settings

TRINO_UID = 1000
SELECTOR = {"app.kubernetes.io/name": "trino", "app.kubernetes.io/instance": "trino"}


def catalog_properties(region: str) -> str:
    """The `lakehouse` catalog: Iceberg over Nessie's REST endpoint, data in MinIO.

    Built by `lakehouse_config`, which the integration tier calls too (with loopback endpoints).
    """
    return properties_text(trino_iceberg_properties(cluster_data_path(region)))


def to_trino_bcrypt(hash_: str) -> str:
    """Trino's password file wants the `$2y$` bcrypt prefix; the algorithm is the same as `$2a$`."""
    return "$2y$" + hash_[4:] if hash_.startswith("$2a$") else hash_


class QueryEngineArgs:
    """Inputs of the query engine component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        catalog: pulumi.Resource,
        monitoring: pulumi.Resource,
    ):
        self.settings = settings
        self.namespace = namespace
        self.catalog = catalog
        self.monitoring = monitoring


class QueryEngine(pulumi.ComponentResource):
    """Trino: coordinator + workers sized per environment; password authentication where asked."""

    passwords: dict[str, pulumi.Output[str]]
    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: QueryEngineArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("lakehouse:platform:QueryEngine", name, None, opts)
        s = args.settings
        t = s.platform.trino
        coord, worker = s.size("trino_coordinator"), s.size("trino_worker")
        image = s.versions.image("trino")
        ns_opts = child(self, args.namespace)
        users = {
            u: random.RandomPassword(
                f"trino-{u}-password",
                length=32,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for u in wiring.TRINO_USERS
        }
        self.passwords = {u: p.result for u, p in users.items()}
        shared = random.RandomPassword(
            "trino-shared-secret",
            length=64,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        internal = secret(
            "trino-internal",
            "trino-internal",
            wiring.NS_LAKEHOUSE,
            {"TRINO_SHARED_SECRET": shared.result},
            ns_opts,
        )
        deps: list[pulumi.Resource] = [internal, args.catalog]
        password_auth = t.authentication == "password"
        values: dict = {
            "image": {"repository": image.repository, "tag": image.tag},
            "server": {
                "workers": worker.replicas,
                "config": {"authenticationType": "PASSWORD" if password_auth else ""},
            },
            "coordinator": {
                "resources": coord.resources(),
                "jvm": {"maxHeapSize": t.coordinator_heap},
            },
            "worker": {"resources": worker.resources(), "jvm": {"maxHeapSize": t.worker_heap}},
            "securityContext": pod_security(TRINO_UID),
            "containerSecurityContext": container_security(read_only_root=False),
            "envFrom": [
                {"secretRef": {"name": wiring.s3_secret_name("trino")}},
                {"secretRef": {"name": "trino-internal"}},
            ],
            "catalogs": {wiring.TRINO_CATALOG: catalog_properties(s.platform.object_store.region)},
            "additionalConfigProperties": [
                "internal-communication.shared-secret=${ENV:TRINO_SHARED_SECRET}",
                "http-server.process-forwarded=true",
            ],
            "serviceMonitor": {"enabled": False},
        }
        if password_auth:
            password_db = pulumi.Output.all(
                *[users[u].bcrypt_hash for u in wiring.TRINO_USERS]
            ).apply(
                lambda hashes: "".join(
                    f"{u}:{to_trino_bcrypt(h)}\n"
                    for u, h in zip(wiring.TRINO_USERS, hashes, strict=True)
                )
            )
            deps.append(
                secret(
                    "trino-password-auth",
                    "trino-password-auth",
                    wiring.NS_LAKEHOUSE,
                    {"password.db": password_db},
                    ns_opts,
                )
            )
            values["auth"] = {"passwordAuthSecret": "trino-password-auth"}
            # TLS ends at the ingress; inside the cluster NetworkPolicy limits who can connect.
            values["additionalConfigProperties"].append(
                "http-server.authentication.allow-insecure-over-http=true"
            )
            deps.append(
                secret(
                    "trino-prometheus",
                    "trino-prometheus",
                    wiring.NS_LAKEHOUSE,
                    {"username": "prometheus", "password": users["prometheus"].result},
                    ns_opts,
                )
            )
        self.release = helm_release(
            "trino", s.versions.charts["trino"], wiring.NS_LAKEHOUSE, values, child(self, *deps)
        )
        pdb(
            "trino-worker",
            wiring.NS_LAKEHOUSE,
            {**SELECTOR, "app.kubernetes.io/component": "worker"},
            worker,
            ns_opts,
        )
        service_monitor(
            "trino",
            wiring.NS_LAKEHOUSE,
            {**SELECTOR, "app.kubernetes.io/component": "coordinator"},
            "http",
            "/metrics",
            child(self, self.release, args.monitoring),
            basic_auth_secret="trino-prometheus" if password_auth else None,
        )
        self.register_outputs({"host": wiring.TRINO_SERVICE, "catalog": wiring.TRINO_CATALOG})

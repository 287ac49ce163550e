"""Catalog: Nessie (JDBC version store on PostgreSQL, Iceberg REST at /iceberg) and its GC job."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import wiring
from ..k8s import (
    child,
    container_security,
    helm_release,
    meta,
    pdb,
    pod_security,
    secret,
    service_monitor,
)
from ..lakehouse_config import cluster_data_path, nessie_catalog_values
from ..settings import Settings

NESSIE_UID = 10000
NESSIE_SELECTOR = {"app.kubernetes.io/name": "nessie", "app.kubernetes.io/instance": "nessie"}


class CatalogArgs:
    """Inputs of the catalog component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        db_password: pulumi.Output[str],
        database: pulumi.Resource,
        object_store_ready: pulumi.Resource,
        monitoring: pulumi.Resource,
    ):
        self.settings = settings
        self.namespace = namespace
        self.db_password = db_password
        self.database = database
        self.object_store_ready = object_store_ready
        self.monitoring = monitoring


class Catalog(pulumi.ComponentResource):
    """Nessie: the Iceberg REST catalog every engine and writer uses."""

    iceberg_rest_uri: str
    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: CatalogArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Catalog", name, None, opts)
        s = args.settings
        size = s.size("nessie")
        image = s.versions.image("nessie")
        jdbc_url = f"jdbc:postgresql://{wiring.pg_host('nessie')}:5432/nessie"
        db_secret = secret(
            "nessie-db",
            "nessie-db",
            wiring.NS_LAKEHOUSE,
            {"username": "nessie", "password": args.db_password},
            child(self, args.namespace),
        )
        values = {
            "image": {"repository": image.repository, "tag": image.tag},
            "replicaCount": size.replicas,
            "resources": size.resources(),
            "podSecurityContext": pod_security(NESSIE_UID),
            "securityContext": container_security(read_only_root=False),
            "versionStoreType": "JDBC2",
            "jdbc": {
                "jdbcUrl": jdbc_url,
                "secret": {"name": "nessie-db", "username": "username", "password": "password"},
            },
            # Shared with the integration tier's Nessie (see lakehouse_config).
            "catalog": nessie_catalog_values(
                cluster_data_path(s.platform.object_store.region),
                {
                    "name": wiring.s3_secret_name("nessie"),
                    "awsAccessKeyId": "AWS_ACCESS_KEY_ID",
                    "awsSecretAccessKey": "AWS_SECRET_ACCESS_KEY",
                },
            ),
            "serviceMonitor": {"enabled": False},
        }
        self.release = helm_release(
            "nessie",
            s.versions.charts["nessie"],
            wiring.NS_LAKEHOUSE,
            values,
            child(self, db_secret, args.database, args.object_store_ready),
        )
        pdb("nessie", wiring.NS_LAKEHOUSE, NESSIE_SELECTOR, size, child(self, args.namespace))
        service_monitor(
            "nessie",
            wiring.NS_LAKEHOUSE,
            NESSIE_SELECTOR,
            "nessie-mgmt",
            "/q/metrics",
            child(self, self.release, args.monitoring),
        )

        gc_size = s.size("nessie_gc")
        nessie = s.platform.nessie
        k8s.batch.v1.CronJob(
            "nessie-gc",
            metadata={
                **meta("nessie-gc", wiring.NS_LAKEHOUSE, **{"app.kubernetes.io/name": "nessie-gc"}),
                "annotations": {
                    "checkov.io/skip1": "CKV_K8S_35=nessie-gc takes its S3 key from the AWS SDK's "
                    "environment chain and its JDBC login as CLI arguments; "
                    "it reads no credential files",
                },
            },
            spec={
                "schedule": nessie.gc_schedule,
                "concurrencyPolicy": "Forbid",
                "successfulJobsHistoryLimit": 3,
                "failedJobsHistoryLimit": 3,
                "jobTemplate": {
                    "spec": {
                        "backoffLimit": 2,
                        "template": {
                            "metadata": {"labels": {"app.kubernetes.io/name": "nessie-gc"}},
                            "spec": {
                                "restartPolicy": "Never",
                                "automountServiceAccountToken": False,
                                "securityContext": pod_security(NESSIE_UID),
                                "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                                "containers": [
                                    {
                                        "name": "gc",
                                        "image": s.versions.images["nessie_gc"],
                                        "imagePullPolicy": "IfNotPresent",
                                        # Credentials come from the environment; $(VAR) is expanded
                                        # by the kubelet for the JDBC login only.
                                        "args": [
                                            "gc",
                                            f"--uri={wiring.NESSIE_API}",
                                            "--jdbc",
                                            f"--jdbc-url={jdbc_url}",
                                            "--jdbc-user=$(JDBC_USER)",
                                            "--jdbc-password=$(JDBC_PASSWORD)",
                                            "--jdbc-schema=CREATE_IF_NOT_EXISTS",
                                            f"--default-cutoff={nessie.gc_cutoff}",
                                            f"--iceberg=s3.endpoint={wiring.S3_ENDPOINT},"
                                            "s3.path-style-access=true,"
                                            f"client.region={s.platform.object_store.region}",
                                        ],
                                        "env": [
                                            {
                                                "name": "JAVA_TOOL_OPTIONS",
                                                "value": "-Djava.io.tmpdir=/tmp",
                                            },
                                            {
                                                "name": "JDBC_USER",
                                                "valueFrom": {
                                                    "secretKeyRef": {
                                                        "name": "nessie-db",
                                                        "key": "username",
                                                    }
                                                },
                                            },
                                            {
                                                "name": "JDBC_PASSWORD",
                                                "valueFrom": {
                                                    "secretKeyRef": {
                                                        "name": "nessie-db",
                                                        "key": "password",
                                                    }
                                                },
                                            },
                                        ],
                                        "envFrom": [
                                            {"secretRef": {"name": wiring.s3_secret_name("nessie")}}
                                        ],
                                        "resources": gc_size.resources(),
                                        "securityContext": container_security(),
                                        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],  # noqa: S108 (emptyDir)
                                    }
                                ],
                            },
                        },
                    }
                },
            },
            opts=child(self, self.release),
        )
        self.iceberg_rest_uri = wiring.ICEBERG_REST_URI
        self.register_outputs(
            {"iceberg_rest_uri": self.iceberg_rest_uri, "warehouse": wiring.WAREHOUSE_LOCATION}
        )

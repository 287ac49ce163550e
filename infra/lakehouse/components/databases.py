"""Databases: CloudNativePG and one PostgreSQL cluster per service, backed up to MinIO."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import wiring
from ..k8s import child, helm_release, pdb, pod_monitor, secret
from ..settings import Settings


class DatabasesArgs:
    """Inputs of the databases component."""

    def __init__(
        self,
        settings: Settings,
        namespaces: dict[str, pulumi.Resource],
        monitoring: pulumi.Resource,
        object_store_ready: pulumi.Resource,
    ):
        self.settings = settings
        self.namespaces = namespaces
        self.monitoring = monitoring
        self.object_store_ready = object_store_ready


class Databases(pulumi.ComponentResource):
    """PostgreSQL for Nessie, Airflow and Superset; each owner's password is generated here."""

    passwords: dict[str, pulumi.Output[str]]
    clusters: dict[str, pulumi.Resource]

    def __init__(self, name: str, args: DatabasesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Databases", name, None, opts)
        s = args.settings
        ns = args.namespaces
        pg = s.platform.postgres
        op_size = s.size("cnpg_operator")
        operator = helm_release(
            "cnpg",
            s.versions.charts["cloudnative-pg"],
            wiring.NS_CNPG,
            {
                "replicaCount": op_size.replicas,
                "resources": op_size.resources(),
                "config": {"clusterWide": True},
                "monitoring": {"podMonitorEnabled": False},
            },
            child(self, ns[wiring.NS_CNPG]),
        )
        pdb(
            "cnpg-operator",
            wiring.NS_CNPG,
            {"app.kubernetes.io/name": "cloudnative-pg"},
            op_size,
            child(self, ns[wiring.NS_CNPG]),
        )
        size = s.size("postgres")
        self.passwords = {}
        self.clusters = {}
        for db in wiring.DATABASES:
            password = random.RandomPassword(
                f"pg-{db}-password",
                length=32,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.passwords[db] = password.result
            app_secret = secret(
                f"pg-{db}-app",
                f"{wiring.pg_cluster(db)}-app-credentials",
                wiring.NS_DATABASES,
                {"username": db, "password": password.result},
                child(self, ns[wiring.NS_DATABASES]),
                secret_type="kubernetes.io/basic-auth",  # noqa: S106 (a type, not a password)
            )
            spec: dict[str, Any] = {
                "instances": size.replicas,
                "imageName": s.versions.images["postgres"],
                "primaryUpdateStrategy": "unsupervised",
                "enablePDB": True,
                "enableSuperuserAccess": False,
                "resources": size.resources(),
                "storage": {
                    "size": pg.storage_size,
                    **(
                        {"storageClass": s.platform.storage_class}
                        if s.platform.storage_class
                        else {}
                    ),
                },
                "affinity": {
                    "enablePodAntiAffinity": True,
                    "topologyKey": "kubernetes.io/hostname",
                    "podAntiAffinityType": "preferred",
                },
                "bootstrap": {
                    "initdb": {
                        "database": db,
                        "owner": db,
                        "secret": {"name": f"{wiring.pg_cluster(db)}-app-credentials"},
                    }
                },
            }
            deps: list[pulumi.Resource] = [operator, app_secret]
            if pg.backups:
                spec["backup"] = {
                    "retentionPolicy": pg.backup_retention,
                    "barmanObjectStore": {
                        "destinationPath": f"s3://{wiring.BUCKET_BACKUPS}/{db}",
                        "endpointURL": wiring.S3_ENDPOINT,
                        "s3Credentials": {
                            "accessKeyId": {
                                "name": wiring.s3_secret_name("backups"),
                                "key": "AWS_ACCESS_KEY_ID",
                            },
                            "secretAccessKey": {
                                "name": wiring.s3_secret_name("backups"),
                                "key": "AWS_SECRET_ACCESS_KEY",
                            },
                        },
                        "wal": {"compression": "gzip"},
                        "data": {"compression": "gzip"},
                    },
                }
                deps.append(args.object_store_ready)
            cluster = k8s.apiextensions.CustomResource(
                f"pg-{db}",
                api_version="postgresql.cnpg.io/v1",
                kind="Cluster",
                metadata={
                    "name": wiring.pg_cluster(db),
                    "namespace": wiring.NS_DATABASES,
                    "labels": {
                        "app.kubernetes.io/part-of": "lakehouse",
                        "lakehouse.dev/database": db,
                    },
                },
                spec=spec,
                opts=child(self, *deps),
            )
            self.clusters[db] = cluster
            if pg.backups:
                k8s.apiextensions.CustomResource(
                    f"pg-{db}-backup",
                    api_version="postgresql.cnpg.io/v1",
                    kind="ScheduledBackup",
                    metadata={
                        "name": f"{wiring.pg_cluster(db)}-daily",
                        "namespace": wiring.NS_DATABASES,
                    },
                    spec={
                        "schedule": pg.backup_schedule,
                        "backupOwnerReference": "self",
                        "method": "barmanObjectStore",
                        "cluster": {"name": wiring.pg_cluster(db)},
                    },
                    opts=child(self, cluster),
                )
        pod_monitor(
            "postgres",
            wiring.NS_DATABASES,
            {"matchExpressions": [{"key": "cnpg.io/cluster", "operator": "Exists"}]},
            "metrics",
            "/metrics",
            child(self, operator, args.monitoring, ns[wiring.NS_DATABASES]),
        )
        self.register_outputs({"hosts": {db: wiring.pg_host(db) for db in wiring.DATABASES}})

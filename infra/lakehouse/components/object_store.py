"""Object store: MinIO operator, one tenant, buckets, one least-privilege user per consumer."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

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
from ..settings import Settings

MINIO_UID = 1000
ROOT_USER = "lakehouse-root"
MC_CONFIG = "/tmp/mc"  # noqa: S108 (an emptyDir: mc needs a writable config folder)


def bucket_policy(consumer: wiring.S3Consumer) -> dict[str, Any]:
    """The IAM policy of one consumer: object access on its buckets, nothing else."""
    statements: list[dict[str, Any]] = []
    for buckets, actions in (
        (consumer.read_write, ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]),
        (consumer.read_only, ["s3:GetObject"]),
    ):
        if not buckets:
            continue
        statements.append(
            {
                "Effect": "Allow",
                "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
                "Resource": [f"arn:aws:s3:::{b}" for b in buckets],
            }
        )
        statements.append(
            {
                "Effect": "Allow",
                "Action": actions,
                "Resource": [f"arn:aws:s3:::{b}/*" for b in buckets],
            }
        )
    return {"Version": "2012-10-17", "Statement": statements}


SETUP_SCRIPT = """\
set -eu
root=/root-creds
mc alias set lake "$S3_ENDPOINT" "$(cat $root/MINIO_ROOT_USER)" "$(cat $root/MINIO_ROOT_PASSWORD)"
until mc ready lake; do echo "waiting for MinIO"; sleep 5; done
for bucket in $BUCKETS; do mc mb --ignore-existing "lake/$bucket"; done
for user in $CONSUMERS; do
  key=$(cat "/creds/$user/AWS_ACCESS_KEY_ID")
  mc admin policy create lake "$user" "/policies/$user.json"
  mc admin user add lake "$key" "$(cat "/creds/$user/AWS_SECRET_ACCESS_KEY")"
  mc admin policy attach lake "$user" --user "$key" || echo "policy $user already attached"
done
"""


class ObjectStoreArgs:
    """Inputs of the object store component."""

    def __init__(
        self,
        settings: Settings,
        namespaces: dict[str, pulumi.Resource],
        monitoring: pulumi.Resource,
    ):
        self.settings = settings
        self.namespaces = namespaces
        self.monitoring = monitoring


class ObjectStore(pulumi.ComponentResource):
    """MinIO: operator, tenant, buckets and per-consumer users (keys delivered as Secrets)."""

    keys: dict[str, tuple[str, pulumi.Output[str]]]
    endpoint: str
    ready: pulumi.Resource

    def __init__(
        self, name: str, args: ObjectStoreArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("lakehouse:platform:ObjectStore", name, None, opts)
        s = args.settings
        ns = args.namespaces
        os_ = s.platform.object_store
        op_size = s.size("minio_operator")
        operator = helm_release(
            "minio-operator",
            s.versions.charts["minio-operator"],
            wiring.NS_MINIO_OPERATOR,
            {
                "operator": {
                    "replicaCount": op_size.replicas,
                    "resources": op_size.resources(),
                    "securityContext": pod_security(MINIO_UID),
                    "containerSecurityContext": container_security(),
                }
            },
            child(self, ns[wiring.NS_MINIO_OPERATOR]),
        )
        pdb(
            "minio-operator",
            wiring.NS_MINIO_OPERATOR,
            {"app.kubernetes.io/name": "operator", "app.kubernetes.io/instance": "minio-operator"},
            op_size,
            child(self, ns[wiring.NS_MINIO_OPERATOR]),
        )

        root_password = random.RandomPassword(
            "minio-root-password",
            length=40,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        config = secret(
            "minio-root",
            f"{wiring.TENANT}-env-configuration",
            wiring.NS_LAKEHOUSE,
            {
                "config.env": root_password.result.apply(
                    lambda p: f'export MINIO_ROOT_USER="{ROOT_USER}"\n'
                    f'export MINIO_ROOT_PASSWORD="{p}"\n'
                ),
            },
            child(self, ns[wiring.NS_LAKEHOUSE]),
        )
        root_creds = secret(
            "minio-root-credentials",
            "minio-root-credentials",
            wiring.NS_LAKEHOUSE,
            {"MINIO_ROOT_USER": ROOT_USER, "MINIO_ROOT_PASSWORD": root_password.result},
            child(self, ns[wiring.NS_LAKEHOUSE]),
        )

        size = s.size("minio")
        tenant = k8s.apiextensions.CustomResource(
            "minio-tenant",
            api_version="minio.min.io/v2",
            kind="Tenant",
            metadata=meta(wiring.TENANT, wiring.NS_LAKEHOUSE),
            spec={
                "image": s.versions.images["minio"],
                "configuration": {"name": f"{wiring.TENANT}-env-configuration"},
                "requestAutoCert": False,
                "mountPath": "/export",
                "podManagementPolicy": "Parallel",
                "features": {"bucketDNS": False},
                "env": [{"name": "MINIO_PROMETHEUS_AUTH_TYPE", "value": "public"}],
                "pools": [
                    {
                        "name": "pool-0",
                        "servers": size.replicas,
                        "volumesPerServer": os_.volumes_per_server,
                        "resources": size.resources(),
                        "securityContext": {
                            **pod_security(MINIO_UID),
                            "fsGroupChangePolicy": "OnRootMismatch",
                        },
                        "containerSecurityContext": container_security(),
                        "volumeClaimTemplate": {
                            "metadata": {"name": "data"},
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": os_.volume_size}},
                                **(
                                    {"storageClassName": s.platform.storage_class}
                                    if s.platform.storage_class
                                    else {}
                                ),
                            },
                        },
                    }
                ],
            },
            opts=child(self, operator, config),
        )
        service_monitor(
            "minio",
            wiring.NS_LAKEHOUSE,
            {"v1.min.io/tenant": wiring.TENANT},
            "http-minio",
            "/minio/v2/metrics/cluster",
            child(self, tenant, args.monitoring),
        )

        # One user per consumer: the key goes to the lakehouse namespace (for the setup job) and
        # to the consumer's own namespace (for the consumer).
        self.keys = {}
        user_secrets: list[pulumi.Resource] = []
        for consumer in wiring.S3_CONSUMERS:
            access_key = f"svc-{consumer.name}"
            secret_key = random.RandomPassword(
                f"s3-{consumer.name}-secret-key",
                length=40,
                special=False,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.keys[consumer.name] = (access_key, secret_key.result)
            data = {"AWS_ACCESS_KEY_ID": access_key, "AWS_SECRET_ACCESS_KEY": secret_key.result}
            name_ = wiring.s3_secret_name(consumer.name)
            user_secrets.append(
                secret(
                    f"s3-{consumer.name}-setup",
                    name_,
                    wiring.NS_LAKEHOUSE,
                    data,
                    child(self, ns[wiring.NS_LAKEHOUSE]),
                )
            )
            if consumer.namespace != wiring.NS_LAKEHOUSE:
                secret(
                    f"s3-{consumer.name}",
                    name_,
                    consumer.namespace,
                    data,
                    child(self, ns[consumer.namespace]),
                )

        policies = k8s.core.v1.ConfigMap(
            "minio-policies",
            metadata=meta("minio-policies", wiring.NS_LAKEHOUSE),
            data={
                f"{c.name}.json": json.dumps(bucket_policy(c), indent=2)
                for c in wiring.S3_CONSUMERS
            },
            opts=child(self, ns[wiring.NS_LAKEHOUSE]),
        )
        setup_size = s.size("minio_setup")
        volumes = [
            {"name": "policies", "configMap": {"name": "minio-policies"}},
            {"name": "mc-config", "emptyDir": {"sizeLimit": "16Mi"}},
            {"name": "root-creds", "secret": {"secretName": "minio-root-credentials"}},
        ] + [
            {"name": f"creds-{c.name}", "secret": {"secretName": wiring.s3_secret_name(c.name)}}
            for c in wiring.S3_CONSUMERS
        ]
        mounts = [
            {"name": "policies", "mountPath": "/policies", "readOnly": True},
            {"name": "mc-config", "mountPath": MC_CONFIG},
            {"name": "root-creds", "mountPath": "/root-creds", "readOnly": True},
        ] + [
            {"name": f"creds-{c.name}", "mountPath": f"/creds/{c.name}", "readOnly": True}
            for c in wiring.S3_CONSUMERS
        ]
        self.ready = k8s.batch.v1.Job(
            "minio-setup",
            metadata=meta(
                "minio-setup", wiring.NS_LAKEHOUSE, **{"app.kubernetes.io/name": "minio-setup"}
            ),
            spec={
                "backoffLimit": 20,
                "activeDeadlineSeconds": 1800,
                "template": {
                    "metadata": {"labels": {"app.kubernetes.io/name": "minio-setup"}},
                    "spec": {
                        "restartPolicy": "OnFailure",
                        "automountServiceAccountToken": False,
                        "securityContext": pod_security(),
                        "volumes": volumes,
                        "containers": [
                            {
                                "name": "mc",
                                "image": s.versions.images["mc"],
                                "imagePullPolicy": "IfNotPresent",
                                "command": ["/bin/sh", "-c", SETUP_SCRIPT],
                                "env": [
                                    {"name": "MC_CONFIG_DIR", "value": MC_CONFIG},
                                    {"name": "S3_ENDPOINT", "value": wiring.S3_ENDPOINT},
                                    {"name": "BUCKETS", "value": " ".join(wiring.BUCKETS)},
                                    {
                                        "name": "CONSUMERS",
                                        "value": " ".join(c.name for c in wiring.S3_CONSUMERS),
                                    },
                                ],
                                "resources": setup_size.resources(),
                                "securityContext": container_security(),
                                "volumeMounts": mounts,
                            }
                        ],
                    },
                },
            },
            opts=child(self, tenant, policies, root_creds, *user_secrets),
        )
        self.endpoint = wiring.S3_ENDPOINT
        self.register_outputs(
            {"endpoint": self.endpoint, "buckets": list(wiring.BUCKETS), "users": sorted(self.keys)}
        )

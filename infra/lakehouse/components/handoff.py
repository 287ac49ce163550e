"""Hand-off to the data workloads: endpoints and credentials in the `pantrypulse` namespace."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from .. import wiring
from ..k8s import child, meta, secret
from ..settings import Settings


def endpoints(
    settings: Settings, kafka_bootstrap: str, kafka_security_protocol: str
) -> dict[str, str]:
    """The non-secret settings every data workload reads (ConfigMap `platform-endpoints`)."""
    k = settings.platform.kafka
    return {
        "ENVIRONMENT": settings.name,
        "ICEBERG_CATALOG_URI": wiring.ICEBERG_REST_URI,
        "ICEBERG_WAREHOUSE": wiring.WAREHOUSE_NAME,
        "ICEBERG_WAREHOUSE_LOCATION": wiring.WAREHOUSE_LOCATION,
        "NESSIE_API_URI": wiring.NESSIE_API,
        "S3_ENDPOINT": wiring.S3_ENDPOINT,
        "S3_REGION": settings.platform.object_store.region,
        "S3_PATH_STYLE_ACCESS": "true",
        "BUCKET_WAREHOUSE": wiring.BUCKET_WAREHOUSE,
        "BUCKET_LANDING": wiring.BUCKET_LANDING,
        "TRINO_HOST": wiring.TRINO_SERVICE,
        "TRINO_PORT": str(wiring.TRINO_PORT),
        "TRINO_CATALOG": wiring.TRINO_CATALOG,
        "TRINO_AUTHENTICATION": settings.platform.trino.authentication,
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "KAFKA_SECURITY_PROTOCOL": kafka_security_protocol,
        "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512" if k.authentication == "scram-sha-512" else "",
        "KAFKA_NAMESPACE": wiring.NS_KAFKA,
        "KAFKA_CLUSTER": wiring.KAFKA_CLUSTER,
        "KAFKA_INVOICES_TOPIC": wiring.KAFKA_INVOICES_TOPIC,
    }


class HandoffArgs:
    """Inputs of the hand-off component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        data: dict[str, str],
        trino_password: pulumi.Output[str],
    ):
        self.settings = settings
        self.namespace = namespace
        self.data = data
        self.trino_password = trino_password


class Handoff(pulumi.ComponentResource):
    """ConfigMap `platform-endpoints` + Secrets the pantrypulse workloads mount."""

    def __init__(self, name: str, args: HandoffArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Handoff", name, None, opts)
        ns_opts = child(self, args.namespace)
        k8s.core.v1.ConfigMap(
            "platform-endpoints",
            metadata=meta(wiring.ENDPOINTS_CONFIGMAP, wiring.NS_PANTRYPULSE),
            data=args.data,
            opts=ns_opts,
        )
        secret(
            "pantrypulse-trino",
            "trino-credentials",
            wiring.NS_PANTRYPULSE,
            {"TRINO_USER": "pantrypulse", "TRINO_PASSWORD": args.trino_password},
            ns_opts,
        )
        self.register_outputs(
            {
                "configmap": wiring.ENDPOINTS_CONFIGMAP,
                "s3_secret": wiring.s3_secret_name("ingestion"),
                "trino_secret": "trino-credentials",
            }
        )

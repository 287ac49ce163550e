"""Streaming: the Strimzi operator and a KRaft Kafka cluster with controller and broker pools."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import wiring
from ..k8s import child, container_security, helm_release, meta, pdb, pod_monitor
from ..settings import Settings

# Minimal JMX exporter rules: broker and controller metrics as Prometheus gauges/counters.
JMX_RULES = {
    "lowercaseOutputName": True,
    "rules": [
        {
            "pattern": "kafka.server<type=(.+), name=(.+), clientId=(.+), topic=(.+), "
            "partition=(.*)><>Value",
            "name": "kafka_server_$1_$2",
            "type": "GAUGE",
            "labels": {"clientId": "$3", "topic": "$4", "partition": "$5"},
        },
        {
            "pattern": "kafka.(\\w+)<type=(.+), name=(.+)PerSec\\w*><>Count",
            "name": "kafka_$1_$2_$3_total",
            "type": "COUNTER",
        },
        {
            "pattern": "kafka.(\\w+)<type=(.+), name=(.+)><>Value",
            "name": "kafka_$1_$2_$3",
            "type": "GAUGE",
        },
    ],
}


def listener(tls: bool, authentication: str) -> dict[str, Any]:
    """The one internal listener: plain in a laptop cluster, TLS + SCRAM where the data says so."""
    out: dict[str, Any] = {
        "name": "tls" if tls else "plain",
        "port": 9093 if tls else 9092,
        "type": "internal",
        "tls": tls,
    }
    if authentication != "none":
        out["authentication"] = {"type": authentication}
    return out


class StreamingArgs:
    """Inputs of the streaming component."""

    def __init__(self, settings: Settings, namespace: pulumi.Resource, monitoring: pulumi.Resource):
        self.settings = settings
        self.namespace = namespace
        self.monitoring = monitoring


class Streaming(pulumi.ComponentResource):
    """Kafka (KRaft) managed by Strimzi; topics and users come later from ArgoCD."""

    bootstrap: str
    security_protocol: str

    def __init__(self, name: str, args: StreamingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Streaming", name, None, opts)
        s = args.settings
        k = s.platform.kafka
        op_size = s.size("strimzi_operator")
        operator = helm_release(
            "strimzi",
            s.versions.charts["strimzi"],
            wiring.NS_KAFKA,
            {
                "replicas": op_size.replicas,
                "resources": op_size.resources(),
                "watchNamespaces": [],
                # Operands get the `restricted` Pod Security profile (the default is baseline).
                "extraEnvs": [
                    {"name": "STRIMZI_POD_SECURITY_PROVIDER_CLASS", "value": "restricted"}
                ],
                # The `kafka` namespace enforces the restricted Pod Security profile.
                "podSecurityContext": {
                    "runAsNonRoot": True,
                    "seccompProfile": {"type": "RuntimeDefault"},
                },
                "securityContext": container_security(),
            },
            child(self, args.namespace),
        )
        metrics = k8s.core.v1.ConfigMap(
            "kafka-metrics",
            metadata=meta("kafka-metrics", wiring.NS_KAFKA),
            data={"kafka-metrics-config.yml": yaml.safe_dump(JMX_RULES, sort_keys=False)},
            opts=child(self, args.namespace),
        )
        brokers = s.size("kafka_broker")
        controllers = s.size("kafka_controller")
        pools = []
        for pool, roles, size in (
            ("controllers", ["controller"], controllers),
            ("brokers", ["broker"], brokers),
        ):
            pools.append(
                k8s.apiextensions.CustomResource(
                    f"kafka-pool-{pool}",
                    api_version="kafka.strimzi.io/v1",
                    kind="KafkaNodePool",
                    metadata=meta(
                        pool, wiring.NS_KAFKA, **{"strimzi.io/cluster": wiring.KAFKA_CLUSTER}
                    ),
                    spec={
                        "replicas": size.replicas,
                        "roles": roles,
                        "resources": size.resources(),
                        "storage": {
                            "type": "jbod",
                            "volumes": [
                                {
                                    "id": 0,
                                    "type": "persistent-claim",
                                    "size": k.storage_size,
                                    "deleteClaim": False,
                                    "kraftMetadata": "shared",
                                    **(
                                        {"class": s.platform.storage_class}
                                        if s.platform.storage_class
                                        else {}
                                    ),
                                }
                            ],
                        },
                    },
                    opts=child(self, operator),
                )
            )
        rf = min(3, brokers.replicas)
        config = {
            "default.replication.factor": rf,
            "min.insync.replicas": max(1, rf - 1),
            "offsets.topic.replication.factor": rf,
            "transaction.state.log.replication.factor": rf,
            "transaction.state.log.min.isr": max(1, rf - 1),
            "auto.create.topics.enable": False,
        }
        eo = s.size("kafka_entity_operator")
        kafka_spec: dict[str, Any] = {
            "kafka": {
                "version": s.versions.kafka_version,
                "listeners": [listener(k.listener_tls, k.authentication)],
                "config": config,
                "metricsConfig": {
                    "type": "jmxPrometheusExporter",
                    "valueFrom": {
                        "configMapKeyRef": {
                            "name": "kafka-metrics",
                            "key": "kafka-metrics-config.yml",
                        }
                    },
                },
            },
            "entityOperator": {
                "topicOperator": {"resources": eo.resources()},
                "userOperator": {"resources": eo.resources()},
            },
        }
        if k.authentication != "none":
            kafka_spec["kafka"]["authorization"] = {"type": "simple"}
        kafka = k8s.apiextensions.CustomResource(
            "kafka",
            api_version="kafka.strimzi.io/v1",
            kind="Kafka",
            metadata=meta(wiring.KAFKA_CLUSTER, wiring.NS_KAFKA),
            spec=kafka_spec,
            opts=child(self, operator, metrics, *pools),
        )
        pdb(
            "strimzi-operator",
            wiring.NS_KAFKA,
            {"name": "strimzi-cluster-operator"},
            op_size,
            child(self, args.namespace),
        )
        pod_monitor(
            "kafka",
            wiring.NS_KAFKA,
            {
                "matchLabels": {
                    "strimzi.io/cluster": wiring.KAFKA_CLUSTER,
                    "strimzi.io/kind": "Kafka",
                }
            },
            "tcp-prometheus",
            "/metrics",
            child(self, kafka, args.monitoring),
        )
        port = 9093 if k.listener_tls else 9092
        self.bootstrap = f"{wiring.KAFKA_BOOTSTRAP_SERVICE}:{port}"
        self.security_protocol = {
            (False, "none"): "PLAINTEXT",
            (True, "none"): "SSL",
            (True, "scram-sha-512"): "SASL_SSL",
        }[(k.listener_tls, k.authentication)]
        self.register_outputs(
            {"bootstrap": self.bootstrap, "security_protocol": self.security_protocol}
        )

"""Observability: kube-prometheus-stack (Prometheus, Alertmanager, Grafana), Loki and Alloy."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import wiring
from ..k8s import child, helm_release, pdb, secret
from ..settings import Settings

PROMETHEUS_RELEASE = "kube-prometheus-stack"
LOKI_URL = f"http://loki.{wiring.NS_MONITORING}.svc:3100"

ALLOY_CONFIG = f"""\
discovery.kubernetes "pods" {{
  role = "pod"
}}

discovery.relabel "pods" {{
  targets = discovery.kubernetes.pods.targets
  rule {{
    source_labels = ["__meta_kubernetes_namespace"]
    target_label  = "namespace"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_name"]
    target_label  = "pod"
  }}
  rule {{
    source_labels = ["__meta_kubernetes_pod_container_name"]
    target_label  = "container"
  }}
}}

loki.source.kubernetes "pods" {{
  targets    = discovery.relabel.pods.output
  forward_to = [loki.write.default.receiver]
}}

loki.write "default" {{
  endpoint {{
    url = "{LOKI_URL}/loki/api/v1/push"
  }}
}}
"""


class MonitoringArgs:
    """Inputs of the monitoring component."""

    def __init__(self, settings: Settings, namespace: pulumi.Resource):
        self.settings = settings
        self.namespace = namespace


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack: installs the ServiceMonitor/PodMonitor CRDs other components use."""

    release: k8s.helm.v3.Release
    grafana_password: pulumi.Output[str]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Monitoring", name, None, opts)
        s = args.settings
        o = s.platform.observability
        ns_opts = child(self, args.namespace)
        password = random.RandomPassword(
            "grafana-admin-password",
            length=24,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grafana_password = password.result
        admin = secret(
            "grafana-admin",
            "grafana-admin",
            wiring.NS_MONITORING,
            {"admin-user": "admin", "admin-password": password.result},
            ns_opts,
        )
        sz = {
            n: s.size(n)
            for n in (
                "prometheus_operator",
                "prometheus",
                "alertmanager",
                "grafana",
                "kube_state_metrics",
                "node_exporter",
            )
        }
        storage = {"storageClassName": s.platform.storage_class} if s.platform.storage_class else {}
        values = {
            "prometheusOperator": {"resources": sz["prometheus_operator"].resources()},
            "prometheus": {
                "prometheusSpec": {
                    "replicas": sz["prometheus"].replicas,
                    "retention": o.metrics_retention,
                    "resources": sz["prometheus"].resources(),
                    # Scrape every ServiceMonitor/PodMonitor/rule in the cluster, not only ours.
                    "serviceMonitorSelectorNilUsesHelmValues": False,
                    "podMonitorSelectorNilUsesHelmValues": False,
                    "ruleSelectorNilUsesHelmValues": False,
                    "storageSpec": {
                        "volumeClaimTemplate": {
                            "spec": {
                                "accessModes": ["ReadWriteOnce"],
                                "resources": {"requests": {"storage": o.metrics_storage}},
                                **storage,
                            }
                        }
                    },
                }
            },
            "alertmanager": {
                "alertmanagerSpec": {
                    "replicas": sz["alertmanager"].replicas,
                    "resources": sz["alertmanager"].resources(),
                }
            },
            "grafana": {
                "replicas": sz["grafana"].replicas,
                "resources": sz["grafana"].resources(),
                "admin": {
                    "existingSecret": "grafana-admin",
                    "userKey": "admin-user",
                    "passwordKey": "admin-password",
                },
                "additionalDataSources": [
                    {"name": "Loki", "type": "loki", "access": "proxy", "url": LOKI_URL}
                ],
                # Dashboards arrive as labelled ConfigMaps from ArgoCD (any namespace).
                "sidecar": {
                    "dashboards": {
                        "enabled": True,
                        "searchNamespace": "ALL",
                        "label": "grafana_dashboard",
                    }
                },
            },
            "kube-state-metrics": {"resources": sz["kube_state_metrics"].resources()},
            "prometheus-node-exporter": {"resources": sz["node_exporter"].resources()},
        }
        self.release = helm_release(
            PROMETHEUS_RELEASE,
            s.versions.charts["kube-prometheus-stack"],
            wiring.NS_MONITORING,
            values,
            child(self, admin),
        )
        pdb(
            "grafana",
            wiring.NS_MONITORING,
            {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": PROMETHEUS_RELEASE},
            sz["grafana"],
            ns_opts,
        )
        self.register_outputs({"grafana_admin_secret": "grafana-admin"})


class LoggingArgs:
    """Inputs of the logging component."""

    def __init__(
        self, settings: Settings, monitoring: pulumi.Resource, object_store_ready: pulumi.Resource
    ):
        self.settings = settings
        self.monitoring = monitoring
        self.object_store_ready = object_store_ready


class Logging(pulumi.ComponentResource):
    """Loki (single binary, chunks in MinIO) and Alloy shipping every pod's logs to it."""

    def __init__(self, name: str, args: LoggingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Logging", name, None, opts)
        s = args.settings
        o = s.platform.observability
        loki, alloy = s.size("loki"), s.size("alloy")
        values = {
            "deploymentMode": "SingleBinary",
            "loki": {
                "auth_enabled": False,
                "commonConfig": {"replication_factor": min(3, loki.replicas)},
                "schemaConfig": {
                    "configs": [
                        {
                            "from": "2025-01-01",
                            "store": "tsdb",
                            "object_store": "s3",
                            "schema": "v13",
                            "index": {"prefix": "index_", "period": "24h"},
                        }
                    ]
                },
                "storage": {
                    "type": "s3",
                    "bucketNames": {
                        "chunks": wiring.BUCKET_LOKI,
                        "ruler": wiring.BUCKET_LOKI,
                        "admin": wiring.BUCKET_LOKI,
                    },
                    "s3": {
                        "endpoint": wiring.S3_ENDPOINT,
                        "region": s.platform.object_store.region,
                        "accessKeyId": "${AWS_ACCESS_KEY_ID}",
                        "secretAccessKey": "${AWS_SECRET_ACCESS_KEY}",
                        "s3ForcePathStyle": True,
                        "insecure": True,
                    },
                },
                "limits_config": {"retention_period": o.logs_retention},
                "compactor": {"retention_enabled": True, "delete_request_store": "s3"},
            },
            "singleBinary": {
                "replicas": loki.replicas,
                "resources": loki.resources(),
                "extraArgs": ["-config.expand-env=true"],
                "extraEnvFrom": [{"secretRef": {"name": wiring.s3_secret_name("loki")}}],
            },
            "read": {"replicas": 0},
            "write": {"replicas": 0},
            "backend": {"replicas": 0},
            "gateway": {"enabled": False},
            "chunksCache": {"enabled": False},
            "resultsCache": {"enabled": False},
            "lokiCanary": {"enabled": False},
            "test": {"enabled": False},
            "minio": {"enabled": False},
            "monitoring": {"serviceMonitor": {"enabled": True}},
        }
        loki_release = helm_release(
            "loki",
            s.versions.charts["loki"],
            wiring.NS_MONITORING,
            values,
            child(self, args.monitoring, args.object_store_ready),
        )
        helm_release(
            "alloy",
            s.versions.charts["alloy"],
            wiring.NS_MONITORING,
            {
                "controller": {"type": "deployment", "replicas": alloy.replicas},
                "alloy": {
                    "configMap": {"create": True, "content": ALLOY_CONFIG},
                    "clustering": {"enabled": alloy.replicas > 1},
                    "resources": alloy.resources(),
                },
            },
            child(self, loki_release),
        )
        self.register_outputs({"loki_url": LOKI_URL})

"""The cluster (kind, existing, or managed DOKS), its namespaces and network policy."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s
import yaml

from .. import wiring
from ..k8s import meta
from ..settings import DigitalOceanCluster, ExistingCluster, KindCluster, Settings

# Traefik's NodePorts inside a kind node; the kind config maps them to the host's ports.
HTTP_NODE_PORT = 30080
HTTPS_NODE_PORT = 30443


def kind_config(cluster: KindCluster) -> str:
    """The kind cluster definition: one control plane (plus workers), ingress ports mapped."""
    control_plane: dict[str, Any] = {
        "role": "control-plane",
        "extraPortMappings": [
            {"containerPort": HTTP_NODE_PORT, "hostPort": cluster.http_port, "protocol": "TCP"},
            {"containerPort": HTTPS_NODE_PORT, "hostPort": cluster.https_port, "protocol": "TCP"},
        ],
    }
    nodes = [control_plane] + [{"role": "worker"} for _ in range(cluster.workers)]
    return yaml.safe_dump(
        {"kind": "Cluster", "apiVersion": "kind.x-k8s.io/v1alpha4", "nodes": nodes},
        sort_keys=False,
    )


def _kind_kubeconfig(parent: pulumi.Resource, cluster: KindCluster, node_image: str) -> Any:
    import pulumi_command as command

    create = (
        f"kind create cluster --name {cluster.name} --image {node_image} --config - --wait 300s >&2"
        f" && kind get kubeconfig --name {cluster.name}"
    )
    kind = command.local.Command(
        "kind-cluster",
        create=create,
        delete=f"kind delete cluster --name {cluster.name}",
        stdin=kind_config(cluster),
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["stdout"]),
    )
    return kind.stdout


def _doks_kubeconfig(parent: pulumi.Resource, cluster: DigitalOceanCluster) -> Any:
    import pulumi_digitalocean as do

    doks = do.KubernetesCluster(
        "doks",
        name=cluster.name,
        region=cluster.region,
        version=cluster.kubernetes_version,
        ha=cluster.ha_control_plane,
        auto_upgrade=False,
        surge_upgrade=True,
        node_pool=do.KubernetesClusterNodePoolArgs(
            name=f"{cluster.name}-pool",
            size=cluster.node_size,
            auto_scale=True,
            min_nodes=cluster.min_nodes,
            max_nodes=cluster.max_nodes,
        ),
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["kubeConfigs"]),
    )
    return doks.kube_configs.apply(lambda cfgs: cfgs[0].raw_config)


class ClusterArgs:
    """Inputs of the cluster component."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings


class Cluster(pulumi.ComponentResource):
    """A Kubernetes cluster and the namespaces + network policy every service runs in."""

    provider: k8s.Provider
    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Cluster", name, None, opts)
        s = args.settings
        c = s.platform.cluster
        if isinstance(c, KindCluster):
            kubeconfig = _kind_kubeconfig(self, c, s.versions.images["kind_node"])
            self.provider = k8s.Provider(
                "k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self)
            )
        elif isinstance(c, ExistingCluster):
            self.provider = k8s.Provider(
                "k8s",
                kubeconfig=c.kubeconfig,
                context=c.context,
                opts=pulumi.ResourceOptions(parent=self),
            )
        else:
            self.provider = k8s.Provider(
                "k8s",
                kubeconfig=_doks_kubeconfig(self, c),
                opts=pulumi.ResourceOptions(parent=self),
            )

        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.namespaces = {}
        for ns in wiring.NAMESPACES:
            labels = {
                "pod-security.kubernetes.io/enforce": ns.enforce,
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
                "kubernetes.io/metadata.name": ns.name,
                "lakehouse.dev/environment": s.name,
            }
            metadata = meta(ns.name, **labels)
            if ns.why:
                metadata["annotations"] = {"lakehouse.dev/pod-security-reason": ns.why}
            self.namespaces[ns.name] = k8s.core.v1.Namespace(
                f"ns-{ns.name}", metadata=metadata, opts=child
            )
        for ns in wiring.NAMESPACES:
            for policy_name, spec in network_policies(ns).items():
                k8s.networking.v1.NetworkPolicy(
                    f"netpol-{ns.name}-{policy_name}",
                    metadata=meta(policy_name, ns.name),
                    spec=spec,
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=self.provider, depends_on=[self.namespaces[ns.name]]
                    ),
                )
        self.register_outputs({"namespaces": [ns.name for ns in wiring.NAMESPACES]})


def _ns_selector(name: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def network_policies(ns: wiring.NamespaceSpec) -> dict[str, dict[str, Any]]:
    """Default deny plus the allows a namespace needs, derived from the `calls` graph."""
    callers = [other.name for other in wiring.NAMESPACES if ns.name in other.calls]
    policies: dict[str, dict[str, Any]] = {
        "default-deny": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        "allow-dns": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [
                        {
                            **_ns_selector("kube-system"),
                            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                        }
                    ],
                    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                }
            ],
        },
        "allow-same-namespace": {
            "podSelector": {},
            "policyTypes": ["Ingress", "Egress"],
            "ingress": [{"from": [{"podSelector": {}}]}],
            "egress": [{"to": [{"podSelector": {}}]}],
        },
        # The Kubernetes API (operators, executors, sidecars) and HTTPS/SSH to the outside
        # (git for ArgoCD and git-sync, ACME): the API server has no pod to select.
        "allow-api-and-https-egress": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [
                {
                    "to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                    "ports": [
                        {"protocol": "TCP", "port": 443},
                        {"protocol": "TCP", "port": 6443},
                    ],
                }
            ],
        },
    }
    if ns.calls:
        policies["allow-egress-to-services"] = {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [_ns_selector(n) for n in ns.calls]}],
        }
    if callers:
        policies["allow-ingress-from-callers"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"from": [_ns_selector(n) for n in callers]}],
        }
    if ns.open_ports:
        policies["allow-ingress-open-ports"] = {
            "podSelector": {},
            "policyTypes": ["Ingress"],
            "ingress": [{"ports": [{"protocol": "TCP", "port": p} for p in ns.open_ports]}],
        }
    return policies

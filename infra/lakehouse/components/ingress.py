"""The ingress controller (Traefik): the only Service exposed outside the cluster."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from .. import wiring
from ..k8s import child, container_security, helm_release, meta, pdb, pod_security
from ..settings import Settings
from .cluster import HTTP_NODE_PORT, HTTPS_NODE_PORT

INGRESS_CLASS = "traefik"
CERT_RESOLVER = "acme"


@dataclass(frozen=True)
class Route:
    """A user-facing URL: `<host>.<domain>` to a Service port."""

    host: str
    namespace: str
    service: str
    port: int


class IngressControllerArgs:
    """Inputs of the ingress controller component."""

    def __init__(self, settings: Settings, namespace: pulumi.Resource) -> None:
        self.settings = settings
        self.namespace = namespace


class IngressController(pulumi.ComponentResource):
    """Traefik as the cluster's one entry point; NodePort on kind, LoadBalancer in the cloud."""

    release: k8s.helm.v3.Release

    def __init__(
        self, name: str, args: IngressControllerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("lakehouse:platform:IngressController", name, None, opts)
        s = args.settings
        ing = s.platform.ingress
        size = s.size("ingress")
        node_port = ing.service_type == "NodePort"
        values: dict = {
            "deployment": {"replicas": size.replicas},
            "resources": size.resources(),
            "service": {"type": ing.service_type},
            "ingressClass": {"enabled": True, "isDefaultClass": True, "name": INGRESS_CLASS},
            "providers": {
                "kubernetesIngress": {"enabled": True},
                "kubernetesCRD": {"enabled": False},
            },
            "ports": {
                "web": {"nodePort": HTTP_NODE_PORT} if node_port else {},
                "websecure": {"nodePort": HTTPS_NODE_PORT} if node_port else {},
            },
            "metrics": {"prometheus": {"serviceMonitor": {"enabled": False}}},
            # The `ingress` namespace enforces the restricted Pod Security profile.
            "podSecurityContext": pod_security(65532),
            "securityContext": container_security(),
        }
        if ing.tls:
            values["certificatesResolvers"] = {
                CERT_RESOLVER: {
                    "acme": {
                        "email": ing.acme_email,
                        "storage": "/data/acme.json",
                        "tlsChallenge": {},
                    }
                }
            }
            values["persistence"] = {"enabled": True, "size": "128Mi"}
            values["ports"]["web"]["redirections"] = {
                "entryPoint": {"to": "websecure", "scheme": "https"}
            }
        self.release = helm_release(
            "traefik",
            s.versions.charts["traefik"],
            wiring.NS_INGRESS,
            values,
            child(self, args.namespace),
        )
        pdb(
            "traefik",
            wiring.NS_INGRESS,
            {"app.kubernetes.io/name": "traefik", "app.kubernetes.io/instance": "traefik-ingress"},
            size,
            child(self, args.namespace),
        )
        self.register_outputs({"ingress_class": INGRESS_CLASS})


class RoutesArgs:
    """Inputs of the routes component."""

    def __init__(
        self,
        settings: Settings,
        routes: list[Route],
        controller: pulumi.Resource,
        namespaces: dict[str, pulumi.Resource],
    ):
        self.settings = settings
        self.routes = routes
        self.controller = controller
        self.namespaces = namespaces


class Routes(pulumi.ComponentResource):
    """One Ingress per user-facing service; TLS from ACME where the environment asks for it."""

    urls: dict[str, str]

    def __init__(self, name: str, args: RoutesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:Routes", name, None, opts)
        ing = args.settings.platform.ingress
        scheme = "https" if ing.tls else "http"
        self.urls = {}
        for r in args.routes:
            host = f"{r.host}.{ing.domain}"
            annotations = {
                "traefik.ingress.kubernetes.io/router.entrypoints": "websecure"
                if ing.tls
                else "web"
            }
            spec: dict = {
                "ingressClassName": INGRESS_CLASS,
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {
                                        "service": {"name": r.service, "port": {"number": r.port}}
                                    },
                                }
                            ]
                        },
                    }
                ],
            }
            if ing.tls:
                annotations["traefik.ingress.kubernetes.io/router.tls"] = "true"
                annotations["traefik.ingress.kubernetes.io/router.tls.certresolver"] = CERT_RESOLVER
            metadata = meta(r.host, r.namespace)
            metadata["annotations"] = annotations
            k8s.networking.v1.Ingress(
                f"route-{r.host}",
                metadata=metadata,
                spec=spec,
                opts=child(self, args.controller, args.namespaces[r.namespace]),
            )
            self.urls[r.host] = f"{scheme}://{host}"
        self.register_outputs({"urls": self.urls})

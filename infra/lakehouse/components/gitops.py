"""GitOps: ArgoCD and the root application, pointing at `argocd/<env>` in this repository."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from .. import wiring
from ..k8s import child, helm_release, meta, pdb, secret, service_monitor
from ..settings import Settings


class GitOpsArgs:
    """Inputs of the GitOps component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        monitoring: pulumi.Resource,
        platform: list[pulumi.Resource],
    ):
        self.settings = settings
        self.namespace = namespace
        self.monitoring = monitoring
        # The root app syncs data workloads that need the platform: it comes last.
        self.platform = platform


class GitOps(pulumi.ComponentResource):
    """ArgoCD (server behind the ingress) and the root Application of this environment."""

    root_path: str
    admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: GitOpsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:GitOps", name, None, opts)
        s = args.settings
        ns = wiring.NS_ARGOCD
        ns_opts = child(self, args.namespace)
        admin = random.RandomPassword(
            "argocd-admin-password",
            length=24,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.admin_password = admin.result
        creds = secret(
            "argocd-admin-credentials",
            "argocd-admin-credentials",
            ns,
            {"username": "admin", "password": admin.result},
            ns_opts,
        )
        sz = {
            n: s.size(n)
            for n in (
                "argocd_controller",
                "argocd_server",
                "argocd_repo_server",
                "argocd_redis",
                "argocd_applicationset",
            )
        }

        def part(size_name: str) -> dict:
            return {
                "replicas": sz[size_name].replicas,
                "resources": sz[size_name].resources(),
                "metrics": {"enabled": True},
            }

        values = {
            "configs": {
                # TLS ends at the ingress controller.
                "params": {"server.insecure": True},
                "secret": {"argocdServerAdminPassword": pulumi.Output.secret(admin.bcrypt_hash)},
            },
            "controller": part("argocd_controller"),
            "server": part("argocd_server"),
            "repoServer": part("argocd_repo_server"),
            "applicationSet": part("argocd_applicationset"),
            "redis": {"resources": sz["argocd_redis"].resources()},
            "dex": {"enabled": False},
            "notifications": {"enabled": False},
        }
        release = helm_release(
            "argocd", s.versions.charts["argo-cd"], ns, values, child(self, creds)
        )
        for comp, size_name in (("server", "argocd_server"), ("repo-server", "argocd_repo_server")):
            pdb(
                f"argocd-{comp}",
                ns,
                {"app.kubernetes.io/name": f"argocd-{comp}"},
                sz[size_name],
                ns_opts,
            )
        service_monitor(
            "argocd-server",
            ns,
            {"app.kubernetes.io/name": "argocd-server-metrics"},
            "http-metrics",
            "/metrics",
            child(self, release, args.monitoring),
        )
        service_monitor(
            "argocd-controller",
            ns,
            {"app.kubernetes.io/name": "argocd-application-controller-metrics"},
            "http-metrics",
            "/metrics",
            child(self, release, args.monitoring),
        )
        self.root_path = wiring.gitops_path(s.name)
        k8s.apiextensions.CustomResource(
            "root-app",
            api_version="argoproj.io/v1alpha1",
            kind="Application",
            metadata={
                **meta(wiring.GITOPS_ROOT_APP, ns),
                "finalizers": ["resources-finalizer.argocd.argoproj.io"],
            },
            spec={
                "project": "default",
                "source": {
                    "repoURL": s.platform.gitops.repo_url,
                    "targetRevision": s.platform.gitops.target_revision,
                    "path": self.root_path,
                },
                "destination": {"server": "https://kubernetes.default.svc", "namespace": ns},
                "syncPolicy": {
                    "automated": {"prune": True, "selfHeal": True},
                    "retry": {
                        "limit": 10,
                        "backoff": {"duration": "30s", "factor": 2, "maxDuration": "10m"},
                    },
                },
            },
            opts=child(self, release, *args.platform),
        )
        self.register_outputs(
            {"root_path": self.root_path, "admin_secret": "argocd-admin-credentials"}
        )

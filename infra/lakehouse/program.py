"""The whole platform for one environment, in dependency order (operators before their CRs)."""

from __future__ import annotations

from typing import Any

import pulumi

from . import wiring
from .components.bi import BI, BIArgs
from .components.catalog import Catalog, CatalogArgs
from .components.cluster import Cluster, ClusterArgs
from .components.databases import Databases, DatabasesArgs
from .components.gitops import GitOps, GitOpsArgs
from .components.handoff import Handoff, HandoffArgs, endpoints
from .components.ingress import IngressController, IngressControllerArgs, Route, Routes, RoutesArgs
from .components.object_store import ObjectStore, ObjectStoreArgs
from .components.observability import (
    PROMETHEUS_RELEASE,
    Logging,
    LoggingArgs,
    Monitoring,
    MonitoringArgs,
)
from .components.orchestrator import Orchestrator, OrchestratorArgs
from .components.query import QueryEngine, QueryEngineArgs
from .components.streaming import Streaming, StreamingArgs
from .settings import Settings

ROUTES = (
    Route("airflow", wiring.NS_AIRFLOW, "airflow-api-server", 8080),
    Route("superset", wiring.NS_SUPERSET, "superset", 8088),
    Route("trino", wiring.NS_LAKEHOUSE, "trino", wiring.TRINO_PORT),
    Route("minio", wiring.NS_LAKEHOUSE, wiring.MINIO_CONSOLE_SERVICE, 9090),
    Route("grafana", wiring.NS_MONITORING, f"{PROMETHEUS_RELEASE}-grafana", 80),
    Route("argocd", wiring.NS_ARGOCD, "argocd-server", 80),
)


def build(settings: Settings) -> dict[str, Any]:
    """Declare every platform service; return the stack outputs."""
    s = settings
    cluster = Cluster("cluster", ClusterArgs(s))
    ns = cluster.namespaces
    k8s_opts = pulumi.ResourceOptions(providers={"kubernetes": cluster.provider})

    ingress = IngressController(
        "ingress", IngressControllerArgs(s, ns[wiring.NS_INGRESS]), k8s_opts
    )
    monitoring = Monitoring("monitoring", MonitoringArgs(s, ns[wiring.NS_MONITORING]), k8s_opts)
    store = ObjectStore("object-store", ObjectStoreArgs(s, ns, monitoring.release), k8s_opts)
    dbs = Databases("databases", DatabasesArgs(s, ns, monitoring.release, store.ready), k8s_opts)
    catalog = Catalog(
        "catalog",
        CatalogArgs(
            s,
            ns[wiring.NS_LAKEHOUSE],
            dbs.passwords["nessie"],
            dbs.clusters["nessie"],
            store.ready,
            monitoring.release,
        ),
        k8s_opts,
    )
    query = QueryEngine(
        "query",
        QueryEngineArgs(s, ns[wiring.NS_LAKEHOUSE], catalog.release, monitoring.release),
        k8s_opts,
    )
    streaming = Streaming(
        "streaming", StreamingArgs(s, ns[wiring.NS_KAFKA], monitoring.release), k8s_opts
    )
    orchestrator = Orchestrator(
        "orchestrator",
        OrchestratorArgs(
            s,
            ns[wiring.NS_AIRFLOW],
            dbs.passwords["airflow"],
            dbs.clusters["airflow"],
            store.keys["airflow-logs"],
            query.passwords["pantrypulse"],
            streaming.bootstrap,
            streaming.security_protocol,
            store.ready,
            monitoring.release,
        ),
        k8s_opts,
    )
    bi = BI(
        "bi",
        BIArgs(
            s,
            ns[wiring.NS_SUPERSET],
            dbs.passwords["superset"],
            dbs.clusters["superset"],
            query.passwords["superset"],
            query.release,
        ),
        k8s_opts,
    )
    logging_ = Logging("logging", LoggingArgs(s, monitoring.release, store.ready), k8s_opts)
    data = endpoints(s, streaming.bootstrap, streaming.security_protocol)
    handoff = Handoff(
        "handoff",
        HandoffArgs(s, ns[wiring.NS_PANTRYPULSE], data, query.passwords["pantrypulse"]),
        k8s_opts,
    )
    gitops = GitOps(
        "gitops",
        GitOpsArgs(
            s,
            ns[wiring.NS_ARGOCD],
            monitoring.release,
            [store, dbs, catalog, query, streaming, orchestrator, bi, logging_, handoff],
        ),
        k8s_opts,
    )
    routes = Routes("routes", RoutesArgs(s, list(ROUTES), ingress.release, ns), k8s_opts)

    return {
        "environment": s.name,
        "urls": routes.urls,
        "endpoints": data,
        "namespaces": [n.name for n in wiring.NAMESPACES],
        "buckets": list(wiring.BUCKETS),
        "gitops_root_path": gitops.root_path,
        "credentials": {
            "grafana": f"{wiring.NS_MONITORING}/grafana-admin",
            "argocd": f"{wiring.NS_ARGOCD}/argocd-admin-credentials",
            "airflow": f"{wiring.NS_AIRFLOW}/airflow-admin",
            "superset": f"{wiring.NS_SUPERSET}/superset-admin",
            "minio_root": f"{wiring.NS_LAKEHOUSE}/minio-root-credentials",
            "trino_pantrypulse": f"{wiring.NS_PANTRYPULSE}/trino-credentials",
            "s3_ingestion": f"{wiring.NS_PANTRYPULSE}/{wiring.s3_secret_name('ingestion')}",
        },
        "admin_passwords": {
            "grafana": monitoring.grafana_password,
            "argocd": gitops.admin_password,
            "airflow": orchestrator.admin_password,
            "superset": bi.admin_password,
        },
    }

"""BI: Superset with the Trino driver, metadata on CloudNativePG, generated secret key and admin."""

from __future__ import annotations

from urllib.parse import quote

import pulumi
import pulumi_random as random

from .. import wiring
from ..k8s import child, helm_release, pdb, secret
from ..settings import Settings

SUPERSET_UID = 1000

# Creates the admin from the environment and registers the Trino `lakehouse` catalog as a
# database, so dashboards imported later (by ArgoCD) find it.
INIT_SCRIPT = """\
#!/bin/sh
set -eu
superset db upgrade
superset init
superset fab create-admin --username "$ADMIN_USERNAME" --firstname Platform --lastname Admin \\
  --email "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" || echo "admin exists"
superset set-database-uri --database_name lakehouse --uri "$TRINO_SQLALCHEMY_URI"
"""

CONFIG_OVERRIDE = """\
import os
SECRET_KEY = os.environ["SUPERSET_SECRET_KEY"]
# No Redis (Bitnami subcharts are avoided): in-process caches, no Celery workers.
CACHE_CONFIG = {"CACHE_TYPE": "SimpleCache", "CACHE_DEFAULT_TIMEOUT": 300}
DATA_CACHE_CONFIG = CACHE_CONFIG
FILTER_STATE_CACHE_CONFIG = CACHE_CONFIG
EXPLORE_FORM_DATA_CACHE_CONFIG = CACHE_CONFIG
ENABLE_PROXY_FIX = True
"""


def trino_uri(user: str, password: str, authenticated: bool) -> str:
    """SQLAlchemy URI of Trino's `lakehouse` catalog for Superset."""
    auth = f"{user}:{quote(password, safe='')}" if authenticated else user
    return f"trino://{auth}@{wiring.TRINO_SERVICE}:{wiring.TRINO_PORT}/{wiring.TRINO_CATALOG}"


class BIArgs:
    """Inputs of the BI component."""

    def __init__(
        self,
        settings: Settings,
        namespace: pulumi.Resource,
        db_password: pulumi.Output[str],
        database: pulumi.Resource,
        trino_password: pulumi.Output[str],
        query_engine: pulumi.Resource,
    ):
        self.settings = settings
        self.namespace = namespace
        self.db_password = db_password
        self.database = database
        self.trino_password = trino_password
        self.query_engine = query_engine


class BI(pulumi.ComponentResource):
    """Superset, wired to Trino and to its own PostgreSQL database."""

    admin_password: pulumi.Output[str]

    def __init__(self, name: str, args: BIArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("lakehouse:platform:BI", name, None, opts)
        s = args.settings
        size = s.size("superset")
        image = s.versions.image("superset")
        ns = wiring.NS_SUPERSET
        key = random.RandomPassword(
            "superset-secret-key",
            length=64,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        admin = random.RandomPassword(
            "superset-admin-password",
            length=24,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.admin_password = admin.result
        authenticated = s.platform.trino.authentication == "password"
        env = secret(
            "superset-env",
            "superset-platform-env",
            ns,
            {
                "DB_HOST": wiring.pg_host("superset"),
                "DB_PORT": "5432",
                "DB_USER": "superset",
                "DB_PASS": args.db_password,
                "DB_NAME": "superset",
                "SUPERSET_SECRET_KEY": key.result,
                "ADMIN_USERNAME": "admin",
                "ADMIN_EMAIL": f"admin@{s.platform.ingress.domain}",
                "ADMIN_PASSWORD": admin.result,
                "TRINO_SQLALCHEMY_URI": args.trino_password.apply(
                    lambda p: trino_uri("superset", p, authenticated)
                ),
            },
            child(self, args.namespace),
        )
        admin_secret = secret(
            "superset-admin",
            "superset-admin",
            ns,
            {"username": "admin", "password": admin.result},
            child(self, args.namespace),
        )
        values = {
            "image": {"repository": image.repository, "tag": image.tag},
            "envFromSecret": "superset-platform-env",
            "bootstrapScript": (
                "#!/bin/sh\nset -eu\n"
                f"uv pip install --no-cache trino=={s.versions.trino_python_client} "
                f"|| pip install --no-cache-dir trino=={s.versions.trino_python_client}\n"
            ),
            "configOverrides": {"platform": CONFIG_OVERRIDE},
            "init": {
                "enabled": True,
                "createAdmin": False,
                "loadExamples": False,
                "initscript": INIT_SCRIPT,
            },
            "postgresql": {"enabled": False},
            "redis": {"enabled": False},
            "supersetNode": {
                "replicaCount": size.replicas,
                "resources": size.resources(),
                "connections": {
                    "db_host": wiring.pg_host("superset"),
                    "db_port": "5432",
                    "db_user": "superset",
                    "db_name": "superset",
                },
            },
            "supersetWorker": {"replicaCount": 0},
            "supersetCeleryBeat": {"enabled": False},
            "supersetWebsockets": {"enabled": False},
            "podSecurityContext": {
                "runAsNonRoot": True,
                "runAsUser": SUPERSET_UID,
                "fsGroup": SUPERSET_UID,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "securityContext": {
                "allowPrivilegeEscalation": False,
                "capabilities": {"drop": ["ALL"]},
            },
        }
        helm_release(
            "superset",
            s.versions.charts["superset"],
            ns,
            values,
            child(self, env, admin_secret, args.database, args.query_engine),
        )
        pdb(
            "superset",
            ns,
            {"app": "superset", "release": "superset"},
            size,
            child(self, args.namespace),
        )
        self.register_outputs({"admin_secret": "superset-admin"})

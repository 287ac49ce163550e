"""Import the bundle into Superset, overwriting every asset it holds (run in Superset's env).

`superset import-dashboards` overwrites dashboards only: a chart, dataset or database that
already exists is left as it was, so a changed chart would never reach a running Superset.
This imports databases, datasets, charts and dashboards in that order, each with
overwrite=True, through Superset's own import commands (the same ones behind
POST /api/v1/{database,dataset,chart,dashboard}/import/ with overwrite=true).

    SUPERSET_CONFIG_PATH=... python importer.py BUNDLE.zip [--user admin] [--passwords JSON]

--passwords maps a database file in the bundle to its password, e.g.
'{"databases/PantryPulse.yaml": "..."}' (read it from a Secret; never from the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile

import yaml

STAGES = ("databases", "datasets", "charts", "dashboards")


def main() -> int:
    """Command line: import one bundle into the configured Superset."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle")
    ap.add_argument("--user", default="admin")
    ap.add_argument("--passwords", default="{}", help="JSON: database file -> password")
    args = ap.parse_args()

    from flask import g
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import security_manager
        from superset.commands.chart.importers.v1 import ImportChartsCommand
        from superset.commands.dashboard.importers.v1 import ImportDashboardsCommand
        from superset.commands.database.importers.v1 import ImportDatabasesCommand
        from superset.commands.dataset.importers.v1 import ImportDatasetsCommand
        from superset.commands.importers.v1.utils import get_contents_from_bundle

        g.user = security_manager.find_user(username=args.user)
        if g.user is None:
            raise SystemExit(f"no Superset user {args.user!r}")
        with zipfile.ZipFile(args.bundle) as zf:
            contents = get_contents_from_bundle(zf)
        metadata = yaml.safe_load(contents["metadata.yaml"])
        metadata.pop("type", None)  # each command checks the type against its own model
        contents["metadata.yaml"] = yaml.safe_dump(metadata)
        passwords = json.loads(args.passwords)
        commands = {
            "databases": ImportDatabasesCommand,
            "datasets": ImportDatasetsCommand,
            "charts": ImportChartsCommand,
            "dashboards": ImportDashboardsCommand,
        }
        for stage in STAGES:
            subset = {
                k: v
                for k, v in contents.items()
                if k == "metadata.yaml"
                or k.startswith(f"{stage}/")
                or (stage != "databases" and k.startswith(("databases/", "datasets/", "charts/")))
            }
            n = sum(1 for k in subset if k.startswith(f"{stage}/"))
            commands[stage](subset, overwrite=True, passwords=passwords).run()
            print(f"imported {n} {stage}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Check the Superset assets against dbt's manifest, with no Superset and no database.

    python validate.py --manifest dbt/target/manifest.json

Every dataset is a gold model and every column a dataset declares or a chart uses exists in
that model; every chart's dataset exists; every dashboard's charts and native-filter targets
exist; UUIDs are unique; the database carries no connection string (it is supplied at import).

A model's columns are those its YAML documents (manifest `columns`) plus the output columns of
its SQL (the final select of `raw_code`, parsed with sqlglot). Columns used by charts that the
YAML does not document are reported as warnings (errors with --strict-docs).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import sys
import uuid
from dataclasses import dataclass, field

import sqlglot
import yaml
from sqlglot import exp

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
PLACEHOLDER = "duckdb:///SUPPLIED_AT_IMPORT"
GOLD_SCHEMA = "gold"
# chart params that name dataset columns directly
COLUMN_LIST_PARAMS = ("groupby", "all_columns", "groupbyRows", "groupbyColumns", "columns")
COLUMN_PARAMS = ("x_axis", "granularity_sqla")
METRIC_PARAMS = (
    "metric",
    "metrics",
    "series_limit_metric",
    "timeseries_limit_metric",
    "percent_metrics",
)


@dataclass
class Report:
    """What the validator found: errors fail, warnings inform."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Model:
    """A gold model: the columns its YAML documents and the columns its SQL outputs."""

    name: str
    documented: set[str]
    in_sql: set[str]

    @property
    def columns(self) -> set[str]:
        """Every column the model has, documented or not."""
        return self.documented | self.in_sql


def load_assets(root: pathlib.Path = ASSETS) -> dict[str, dict[str, dict]]:
    """{kind: {relative path: document}} for databases, datasets, charts, dashboards."""
    out: dict[str, dict[str, dict]] = {
        k: {} for k in ("databases", "datasets", "charts", "dashboards")
    }
    for path in sorted(root.rglob("*.yaml")):
        rel = path.relative_to(root).as_posix()
        kind = rel.split("/", 1)[0]
        if kind in out:
            out[kind][rel] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return out


def _sql_output_columns(raw_code: str) -> set[str]:
    sql = re.sub(r"\{\{.*?\}\}", "NULL", raw_code, flags=re.S)
    sql = re.sub(r"\{%.*?%\}", "", sql, flags=re.S)
    tree = sqlglot.parse_one(sql, read="duckdb")
    ctes = {cte.alias_or_name: cte.this for cte in tree.find_all(exp.CTE)}
    select = tree if isinstance(tree, exp.Select) else tree.find(exp.Select)
    for _ in range(10):
        names = select.named_selects
        if names != ["*"]:
            return {n for n in names if n != "*"}
        source = select.args.get("from") or select.args.get("from_")
        table = source.this if source is not None else None
        if not isinstance(table, exp.Table) or table.name not in ctes:
            break
        select = ctes[table.name]
    return set()


def load_models(manifest_path: pathlib.Path) -> dict[str, Model]:
    """The gold models of a dbt manifest, by name."""
    manifest = json.loads(manifest_path.read_text())
    models = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model" or (
            node["schema"] != GOLD_SCHEMA and node["config"].get("schema") != GOLD_SCHEMA
        ):
            continue
        models[node["name"]] = Model(
            node["name"], set(node.get("columns", {})), _sql_output_columns(node["raw_code"])
        )
    return models


def _metric_columns(metric) -> set[str]:
    if isinstance(metric, str) or metric is None:
        return set()  # a saved metric of the dataset, checked there
    if metric.get("expressionType") == "SIMPLE":
        return {metric["column"]["column_name"]}
    return {
        c.name
        for c in sqlglot.parse_one(metric["sqlExpression"], read="duckdb").find_all(exp.Column)
    }


def chart_columns(params: dict) -> set[str]:
    """Every dataset column a chart's params refer to."""
    cols: set[str] = set()
    for key in COLUMN_LIST_PARAMS:
        for c in params.get(key) or []:
            cols.add(c if isinstance(c, str) else c.get("sqlExpression") or c.get("column_name"))
    for key in COLUMN_PARAMS:
        if params.get(key):
            cols.add(params[key])
    for key in METRIC_PARAMS:
        value = params.get(key)
        for m in value if isinstance(value, list) else [value]:
            cols |= _metric_columns(m)
    for f in params.get("adhoc_filters") or []:
        if f.get("expressionType") == "SIMPLE":
            cols.add(f["subject"])
        else:
            cols |= {
                c.name
                for c in sqlglot.parse_one(f["sqlExpression"], read="duckdb").find_all(exp.Column)
            }
    for entry in params.get("order_by_cols") or []:
        cols.add(json.loads(entry)[0])
    cols |= set(params.get("column_config") or {})
    return cols


def _metric_names(params: dict) -> set[str]:
    names = set()
    for key in METRIC_PARAMS:
        value = params.get(key)
        for m in value if isinstance(value, list) else [value]:
            if isinstance(m, dict):
                names.add(m.get("label"))
    return names


def validate(
    models: dict[str, Model], assets: dict[str, dict[str, dict]], strict_docs: bool = False
) -> Report:
    """Every error and warning of the assets against the gold models."""
    rep = Report()
    seen: dict[str, str] = {}
    for docs in assets.values():
        for rel, doc in docs.items():
            u = str(doc.get("uuid", ""))
            try:
                uuid.UUID(u)
            except ValueError:
                rep.errors.append(f"{rel}: missing or invalid uuid {u!r}")
                continue
            if u in seen:
                rep.errors.append(f"{rel}: uuid {u} also used by {seen[u]}")
            seen[u] = rel
            if doc.get("version") != "1.0.0":
                rep.errors.append(f"{rel}: version must be 1.0.0")

    databases = {d["uuid"]: (rel, d) for rel, d in assets["databases"].items()}
    for rel, d in databases.values():
        if d.get("sqlalchemy_uri") != PLACEHOLDER:
            rep.errors.append(
                f"{rel}: sqlalchemy_uri must be {PLACEHOLDER!r} (supplied at import time)"
            )
        if "password" in d:
            rep.errors.append(f"{rel}: no password in the repository")

    datasets: dict[str, tuple[str, dict, set[str]]] = {}
    for rel, d in assets["datasets"].items():
        if d.get("database_uuid") not in databases:
            rep.errors.append(f"{rel}: database {d.get('database_uuid')} not in the bundle")
        if d.get("sql"):
            rep.errors.append(f"{rel}: virtual datasets are not allowed; model it in dbt gold")
        if d.get("schema") != GOLD_SCHEMA:
            rep.errors.append(f"{rel}: schema must be {GOLD_SCHEMA!r}, is {d.get('schema')!r}")
        model = models.get(d["table_name"])
        cols = {c["column_name"] for c in d.get("columns", [])}
        if model is None:
            rep.errors.append(f"{rel}: {d['table_name']} is not a gold model in the dbt manifest")
        else:
            for c in sorted(cols - model.columns):
                rep.errors.append(f"{rel}: column {c} is not a column of gold model {model.name}")
        dttm = d.get("main_dttm_col")
        if dttm and not any(
            c["column_name"] == dttm and c.get("is_dttm") for c in d.get("columns", [])
        ):
            rep.errors.append(
                f"{rel}: main_dttm_col {dttm} is not a temporal column of the dataset"
            )
        datasets[d["uuid"]] = (rel, d, cols)

    charts: dict[str, str] = {}
    for rel, c in assets["charts"].items():
        charts[c["uuid"]] = rel
        if c.get("dataset_uuid") not in datasets:
            rep.errors.append(f"{rel}: dataset {c.get('dataset_uuid')} not in the bundle")
            continue
        _, ds, ds_cols = datasets[c["dataset_uuid"]]
        if c["params"].get("viz_type") not in (None, c["viz_type"]):
            rep.errors.append(f"{rel}: params.viz_type differs from viz_type")
        used = chart_columns(c["params"])
        model = models.get(ds["table_name"])
        for col in sorted(used - ds_cols):
            rep.errors.append(f"{rel}: uses column {col}, not in dataset {ds['table_name']}")
        if model:
            for col in sorted(used - model.columns):
                rep.errors.append(f"{rel}: uses column {col}, not in gold model {model.name}")
            undocumented = sorted((used & model.columns) - model.documented)
            if undocumented:
                msg = (
                    f"{rel}: uses columns of {model.name} its dbt YAML does not document: "
                    + ", ".join(undocumented)
                )
                (rep.errors if strict_docs else rep.warnings).append(msg)
        saved = {m["metric_name"] for m in ds.get("metrics", [])}
        for key in METRIC_PARAMS:
            value = c["params"].get(key)
            for m in value if isinstance(value, list) else [value]:
                if isinstance(m, str) and m not in saved:
                    rep.errors.append(f"{rel}: saved metric {m} not in dataset {ds['table_name']}")

    on_dashboards: set[str] = set()
    for rel, dash in assets["dashboards"].items():
        pos = dash["position"]
        chart_ids = {}
        for key, node in pos.items():
            if not isinstance(node, dict) or node.get("type") != "CHART":
                continue
            u = node["meta"].get("uuid")
            if u not in charts:
                rep.errors.append(f"{rel}: {key} refers to chart {u}, not in the bundle")
            on_dashboards.add(u)
            if node["meta"].get("chartId") in chart_ids:
                rep.errors.append(f"{rel}: chartId {node['meta'].get('chartId')} used twice")
            chart_ids[node["meta"].get("chartId")] = u
            for parent in node.get("parents", []):
                if parent not in pos:
                    rep.errors.append(f"{rel}: {key} has unknown parent {parent}")
        for key, node in pos.items():
            if isinstance(node, dict):
                for child in node.get("children", []):
                    if child not in pos:
                        rep.errors.append(f"{rel}: {key} has unknown child {child}")
        if not chart_ids:
            rep.errors.append(f"{rel}: no charts")
        if not dash.get("slug"):
            rep.errors.append(f"{rel}: a slug is needed for stable URLs")
        for f in dash.get("metadata", {}).get("native_filter_configuration", []):
            for t in f.get("targets", []):
                if not t:
                    continue
                ds_uuid = t.get("datasetUuid")
                if ds_uuid not in datasets:
                    rep.errors.append(
                        f"{rel}: filter {f['name']!r} targets dataset {ds_uuid}, not in the bundle"
                    )
                elif t["column"]["name"] not in datasets[ds_uuid][2]:
                    rep.errors.append(
                        f"{rel}: filter {f['name']!r} targets column {t['column']['name']}, "
                        f"not in dataset {datasets[ds_uuid][1]['table_name']}"
                    )
            for cid in f.get("scope", {}).get("excluded", []):
                if cid not in chart_ids:
                    rep.errors.append(
                        f"{rel}: filter {f['name']!r} excludes chartId {cid}, not on the dashboard"
                    )
            if (
                f.get("sortMetric")
                and f.get("targets")
                and f["targets"][0].get("datasetUuid") in datasets
            ):
                ds = datasets[f["targets"][0]["datasetUuid"]][1]
                if f["sortMetric"] not in {m["metric_name"] for m in ds.get("metrics", [])}:
                    rep.errors.append(
                        f"{rel}: filter {f['name']!r} sorts by unknown metric {f['sortMetric']}"
                    )
    for u in sorted(set(charts) - on_dashboards):
        rep.errors.append(f"{charts[u]}: on no dashboard")
    return rep


def main() -> int:
    """Command line: print the findings, exit 1 on errors."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", required=True, type=pathlib.Path)
    ap.add_argument("--assets", type=pathlib.Path, default=ASSETS)
    ap.add_argument("--strict-docs", action="store_true", help="undocumented columns are errors")
    args = ap.parse_args()
    rep = validate(load_models(args.manifest), load_assets(args.assets), args.strict_docs)
    for w in rep.warnings:
        print(f"warning: {w}")
    for e in rep.errors:
        print(f"error: {e}")
    print(f"{len(rep.errors)} errors, {len(rep.warnings)} warnings")
    return 1 if rep.errors else 0


if __name__ == "__main__":
    sys.exit(main())

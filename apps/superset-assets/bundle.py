"""Build the Superset import bundle (ZIP) from the asset YAML in `assets/`.

The repository holds no connection string: the database YAML carries a placeholder, and the
URI of the target environment is supplied here, at import time (locally the embedded DuckDB
file, in the cluster the Trino URI of the import Job). A password never goes into the bundle:
pass it to Superset's import API in its `passwords` field, or in the URI from a Secret.

    python bundle.py --duckdb /abs/pantrypulse.duckdb --out assets.zip
    python bundle.py --database-uri 'trino://superset@trino:8080/lakehouse' --out assets.zip
"""

from __future__ import annotations

import argparse
import io
import pathlib
import zipfile

import yaml

ASSETS = pathlib.Path(__file__).resolve().parent / "assets"
PLACEHOLDER = "duckdb:///SUPPLIED_AT_IMPORT"
ROOT = "pantrypulse_assets"


def duckdb_uri(path: str | pathlib.Path) -> str:
    """Read-only DuckDB URI: Superset never locks the file against the next `make demo`."""
    return f"duckdb:///{pathlib.Path(path).resolve()}?access_mode=read_only"


def build(database_uri: str, assets: pathlib.Path = ASSETS, untyped: bool = False) -> bytes:
    """The ZIP bytes: every YAML under a root folder, the database URI filled in."""
    if not database_uri or database_uri == PLACEHOLDER:
        raise ValueError("a database URI is required")
    buf = io.BytesIO()
    files = sorted(p for p in assets.rglob("*.yaml") if p.is_file())
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in files:
            rel = path.relative_to(assets).as_posix()
            text = path.read_text(encoding="utf-8")
            if rel == "metadata.yaml" and untyped:
                # without a type, the database, dataset, chart and dashboard import endpoints
                # all accept the same bundle (each checks the type against its own model)
                doc = yaml.safe_load(text)
                doc.pop("type", None)
                text = yaml.safe_dump(doc, sort_keys=False)
            if rel.startswith("databases/"):
                doc = yaml.safe_load(text)
                if doc.get("sqlalchemy_uri") != PLACEHOLDER:
                    raise ValueError(f"{rel}: sqlalchemy_uri must be the placeholder {PLACEHOLDER}")
                doc["sqlalchemy_uri"] = database_uri
                text = yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
            zf.writestr(f"{ROOT}/{rel}", text)
    return buf.getvalue()


def main() -> None:
    """Command line: write the bundle for one database URI."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = ap.add_mutually_exclusive_group(required=True)
    group.add_argument("--database-uri", help="SQLAlchemy URI of the gold database")
    group.add_argument("--duckdb", help="path of the embedded gold DuckDB file")
    ap.add_argument("--out", required=True, type=pathlib.Path)
    ap.add_argument(
        "--untyped",
        action="store_true",
        help="drop metadata.yaml's type, for importing the bundle through every import endpoint",
    )
    args = ap.parse_args()
    uri = args.database_uri or duckdb_uri(args.duckdb)
    args.out.write_bytes(build(uri, untyped=args.untyped))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

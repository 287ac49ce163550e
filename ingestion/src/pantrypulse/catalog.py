"""The Iceberg catalog behind bronze and the registry, chosen by settings alone.

Embedded default: pyiceberg's SQL catalog on SQLite with a warehouse folder under
PANTRYPULSE_HOME. Cluster and integration tier: Nessie's Iceberg REST endpoint
(`catalog.type: rest`), with S3 properties in `catalog.properties`. No code path
depends on which one is configured.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from pantrypulse.settings import Settings
from pantrypulse.tables import TableDef


def open_catalog(settings: Settings) -> Catalog:
    """Load the configured catalog, creating the local folders an embedded one needs."""
    props = settings.catalog_properties()
    if props["type"] == "sql":
        settings.home.mkdir(parents=True, exist_ok=True)
        warehouse = urlparse(props["warehouse"])
        if warehouse.scheme == "file":
            Path(warehouse.path).mkdir(parents=True, exist_ok=True)
    return load_catalog(settings.catalog.name, **props)


def ensure_table(catalog: Catalog, table: TableDef) -> Table:
    """Load `table`, creating its namespace and the table itself on first use."""
    catalog.create_namespace_if_not_exists(table.namespace)
    try:
        loaded = catalog.load_table(table.identifier)
    except NoSuchTableError:
        return catalog.create_table_if_not_exists(
            table.identifier,
            schema=table.schema,
            partition_spec=table.partition_spec(),
            properties={"comment": table.doc, "format-version": "2", **dict(table.properties)},
        )
    missing = {k: v for k, v in table.properties if loaded.properties.get(k) != v}
    if missing:
        # Tables created before a property was declared get it on first use.
        with loaded.transaction() as tx:
            tx.set_properties(missing)
        loaded.refresh()
    return loaded


def pyiceberg_env(settings: Settings) -> dict[str, str]:
    """The catalog as `PYICEBERG_CATALOG__<NAME>__<KEY>` variables, for dbt's iceberg plugin."""
    name = settings.catalog.name.upper()
    return {
        f"PYICEBERG_CATALOG__{name}__{key.upper().replace('.', '__').replace('-', '_')}": value
        for key, value in settings.catalog_properties().items()
    }

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


def _cache_transaction_metadata() -> None:
    """Stop pyiceberg from deep-copying the whole table metadata on every access.

    `Transaction.table_metadata` re-applies the pending updates to the table's metadata and
    deep-copies the result each time it is read: ~19 times per append, so a commit costs
    ~0.85 ms per live snapshot (apache/iceberg-python#2673), which a stream committing every
    few seconds feels within the hour. The result only depends on the table's metadata
    object and the pending-updates tuple (both replaced, never mutated, when they change),
    so it is cached on exactly those two objects.
    """
    from pyiceberg.table import Transaction

    compute = Transaction.table_metadata.fget
    if getattr(compute, "_pantrypulse_cached", False):
        return

    def table_metadata(self):
        base, updates = self._table.metadata, self._updates
        cached = self.__dict__.get("_pp_metadata")
        if cached is not None and cached[0] is base and cached[1] is updates:
            return cached[2]
        result = compute(self)
        self.__dict__["_pp_metadata"] = (base, updates, result)
        return result

    table_metadata._pantrypulse_cached = True
    Transaction.table_metadata = property(table_metadata)


_cache_transaction_metadata()


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

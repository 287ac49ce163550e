"""The data path's settings as plain data: Nessie's catalog, S3, Trino's Iceberg catalog.

One source for the cluster and the local services. The Pulumi components (`components/catalog.py`,
`components/query.py`) call these functions with the in-cluster endpoints from `wiring`; the
integration tier (`tests/integration/services`) calls the same functions with loopback
endpoints, so what runs there is what the cluster gets, not a second copy.

Pure functions over strings: no Pulumi import, nothing secret. Credentials are passed in as
references (`${ENV:...}` for Trino, a secret reference for Nessie), never as values.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import wiring


@dataclass(frozen=True)
class DataPath:
    """Where the catalog, the warehouse and the object store are, as one consumer sees them."""

    iceberg_rest_uri: str
    s3_endpoint: str
    region: str
    warehouse_name: str = wiring.WAREHOUSE_NAME
    warehouse_location: str = wiring.WAREHOUSE_LOCATION
    path_style_access: bool = True


def cluster_data_path(region: str) -> DataPath:
    """The data path inside the cluster: Nessie's and MinIO's Services."""
    return DataPath(
        iceberg_rest_uri=wiring.ICEBERG_REST_URI, s3_endpoint=wiring.S3_ENDPOINT, region=region
    )


def nessie_catalog_values(dp: DataPath, access_key_secret: dict[str, str]) -> dict:
    """The Nessie Helm chart's `catalog` values (the chart turns them into the properties below)."""
    return {
        "enabled": True,
        "iceberg": {
            "defaultWarehouse": dp.warehouse_name,
            "warehouses": [{"name": dp.warehouse_name, "location": dp.warehouse_location}],
        },
        "storage": {
            "s3": {
                "defaultOptions": {
                    "endpoint": dp.s3_endpoint,
                    "pathStyleAccess": dp.path_style_access,
                    "region": dp.region,
                    "accessKeySecret": access_key_secret,
                }
            }
        },
    }


def nessie_catalog_properties(dp: DataPath, access_key_ref: str) -> dict[str, str]:
    """The same catalog settings as Nessie's own (Quarkus) properties, for a runner jar.

    `access_key_ref` is a Nessie secret reference such as `urn:nessie-secret:quarkus:<name>`.
    """
    s3 = "nessie.catalog.service.s3.default-options"
    return {
        "nessie.catalog.default-warehouse": dp.warehouse_name,
        f"nessie.catalog.warehouses.{dp.warehouse_name}.location": dp.warehouse_location,
        f"{s3}.endpoint": dp.s3_endpoint,
        f"{s3}.path-style-access": str(dp.path_style_access).lower(),
        f"{s3}.region": dp.region,
        f"{s3}.access-key": access_key_ref,
    }


def trino_iceberg_properties(
    dp: DataPath,
    access_key: str = "${ENV:AWS_ACCESS_KEY_ID}",
    secret_key: str = "${ENV:AWS_SECRET_ACCESS_KEY}",  # noqa: S107 (a reference, not a value)
) -> dict[str, str]:
    """Trino's `lakehouse` catalog: Iceberg over Nessie's REST endpoint, data on S3."""
    return {
        "connector.name": "iceberg",
        "iceberg.catalog.type": "rest",
        "iceberg.rest-catalog.uri": dp.iceberg_rest_uri,
        "iceberg.rest-catalog.warehouse": dp.warehouse_name,
        "iceberg.rest-catalog.vended-credentials-enabled": "false",
        "fs.native-s3.enabled": "true",
        "s3.endpoint": dp.s3_endpoint,
        "s3.region": dp.region,
        "s3.path-style-access": str(dp.path_style_access).lower(),
        "s3.aws-access-key": access_key,
        "s3.aws-secret-key": secret_key,
        # The streamed bronze tables (a commit every ~2 s) are expired hourly with a retention
        # of hours (dags/bronze_stream_maintenance.py); Trino refuses `expire_snapshots` below
        # this (default 7d). The daily DAG still passes its days of retention. Orphan removal
        # keeps Trino's default 7d minimum: only the daily DAG removes orphans.
        "iceberg.expire-snapshots.min-retention": "1h",
    }


def properties_text(props: dict[str, str]) -> str:
    """A Java properties file, one `key=value` a line, in the dict's order."""
    return "".join(f"{k}={v}\n" for k, v in props.items())

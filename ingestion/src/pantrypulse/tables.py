"""Iceberg table definitions owned by the ingestion package.

One place declares every table the Python side writes: bronze (the delivery log and its
quarantine) and the entity-resolution registry that silver builds on. dbt reads these as
sources; the Trino/Nessie path and the embedded SQL catalog create them from the same
definitions, so the two can never drift.
"""

from __future__ import annotations

from dataclasses import dataclass

from pyiceberg.partitioning import PartitionField, PartitionSpec
from pyiceberg.schema import Schema
from pyiceberg.transforms import IdentityTransform
from pyiceberg.types import (
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    NestedField,
    StringType,
    TimestamptzType,
)

BRONZE = "bronze"
RESOLUTION = "resolution"


@dataclass(frozen=True)
class TableDef:
    """A table's identifier, schema and partitioning."""

    namespace: str
    name: str
    schema: Schema
    partition_by: tuple[str, ...] = ()
    doc: str = ""
    properties: tuple[tuple[str, str], ...] = ()

    @property
    def identifier(self) -> str:
        """`namespace.name`, as catalogs expect it."""
        return f"{self.namespace}.{self.name}"

    def partition_spec(self) -> PartitionSpec:
        """Identity partitioning on the declared columns."""
        fields = []
        for i, col in enumerate(self.partition_by):
            source = self.schema.find_field(col)
            fields.append(
                PartitionField(
                    source_id=source.field_id,
                    field_id=1000 + i,
                    transform=IdentityTransform(),
                    name=col,
                )
            )
        return PartitionSpec(*fields)


def _fields(*cols: tuple[str, object, bool, str]) -> Schema:
    return Schema(
        *(
            NestedField(field_id=i + 1, name=n, field_type=t, required=r, doc=d)
            for i, (n, t, r, d) in enumerate(cols)
        )
    )


# Bronze table properties.
# - pyiceberg (>= 0.10) retries a conflicting commit by re-basing it blindly on the other
#   writer's snapshot, which would re-apply our Kafka offsets over theirs. Our writers retry
#   themselves after re-reading the table (see pantrypulse.stream.offsets), so bronze opts out.
# - The stream appends every few seconds: merging manifests on append keeps their number
#   (and so the cost of every later commit and scan) bounded instead of one per commit.
# - A metadata file per commit adds up to thousands a day: keep the last 100, delete the rest
#   as the writer commits (the snapshots themselves are expired by lakehouse maintenance).
BRONZE_PROPERTIES = (
    ("commit.retry.num-retries", "0"),
    ("commit.manifest-merge.enabled", "true"),
    ("write.metadata.delete-after-commit.enabled", "true"),
    ("write.metadata.previous-versions-max", "100"),
)

# Delivery metadata shared by the accepted and the rejected table, in this order.
_DELIVERY_META = (
    ("source", StringType(), True, "http | file | kafka"),
    ("slice_key", StringType(), True, "unit of atomic replacement, e.g. http:2026-01-15"),
    ("source_position", StringType(), True, "where in the source the record was found"),
    ("load_id", StringType(), True, "the load that wrote this row"),
    ("ingested_at", TimestamptzType(), True, "when the load committed (UTC)"),
    ("ingest_date", DateType(), True, "partition: UTC date of ingested_at"),
    ("kafka_topic", StringType(), False, "streaming only"),
    ("kafka_partition", IntegerType(), False, "streaming only"),
    ("kafka_offset", LongType(), False, "streaming only"),
)

INVOICES_RAW = TableDef(
    BRONZE,
    "invoices_raw",
    _fields(
        ("invoice_id", StringType(), True, "source invoice id"),
        ("revision", IntegerType(), True, "higher revision supersedes"),
        ("issued_at", TimestamptzType(), True, "issue instant (UTC)"),
        ("issued_date", DateType(), True, "local issue date as printed"),
        ("payload_sha256", StringType(), True, "hash of the raw JSON text"),
        ("raw_json", StringType(), True, "the invoice exactly as delivered"),
        *_DELIVERY_META,
    ),
    partition_by=("ingest_date",),
    doc="One row per accepted delivery of an invoice (re-deliveries included).",
    properties=BRONZE_PROPERTIES,
)

INVOICES_REJECTED = TableDef(
    BRONZE,
    "invoices_rejected",
    _fields(
        ("reason_code", StringType(), True, "machine-readable reason"),
        ("reason", StringType(), True, "human-readable reason"),
        ("invoice_id", StringType(), False, "when it could be read"),
        ("raw_payload", StringType(), True, "raw text; undecodable bytes backslash-escaped"),
        *_DELIVERY_META,
    ),
    partition_by=("ingest_date",),
    doc="Quarantine: every delivery that failed validation, with the reason.",
    properties=BRONZE_PROPERTIES,
)

LOAD_LOG = TableDef(
    BRONZE,
    "load_log",
    _fields(
        ("load_id", StringType(), True, "the load"),
        ("slice_key", StringType(), True, "a slice the load replaced"),
        ("source", StringType(), True, "http | file | kafka"),
        ("delivered", LongType(), True, "records the source delivered for the slice"),
        ("accepted", LongType(), True, "rows written to invoices_raw"),
        ("rejected", LongType(), True, "rows written to invoices_rejected"),
        ("committed_at", TimestamptzType(), True, "when the slice was sealed"),
    ),
    doc="One row per (load, slice): the seal that proves delivered = accepted + rejected.",
    properties=BRONZE_PROPERTIES,
)

# The resolver's registry: canonical entities and every raw spelling mapped to one.
PRODUCTS = TableDef(
    RESOLUTION,
    "products",
    _fields(
        ("product_id", StringType(), True, "stable canonical id"),
        ("product_name", StringType(), True, "canonical display name"),
        ("product_brand", StringType(), False, "canonical brand, null when unbranded"),
        ("product_type", StringType(), False, "category synonyms clustered, lower-case"),
        ("size_value", DoubleType(), False, "net size in size_unit"),
        ("size_unit", StringType(), False, "g | ml | unit"),
        ("pack_count", IntegerType(), False, "units per pack"),
        ("normalized_key", StringType(), True, "normalized name|brand|size"),
        ("alias_count", IntegerType(), True, "spellings mapped here"),
        ("first_seen_at", TimestamptzType(), True, "when the id was created"),
    ),
    doc="One row per canonical product.",
)

PRODUCT_ALIASES = TableDef(
    RESOLUTION,
    "product_aliases",
    _fields(
        ("alias_key", StringType(), True, "md5 of shop_brand_key|raw_name|raw_brand"),
        ("shop_brand_key", StringType(), True, "chain context of the spelling"),
        ("raw_name", StringType(), True, "product_name as printed"),
        ("raw_brand", StringType(), True, "product_brand as delivered, '' when null"),
        ("product_id", StringType(), True, "canonical product"),
        ("match_method", StringType(), True, "new | exact | fuzzy | registry"),
        ("match_score", DoubleType(), True, "similarity of the match, 1 for exact"),
        ("first_seen_at", TimestamptzType(), True, "when the alias was resolved"),
    ),
    doc="Every product spelling seen, per chain, mapped to its canonical product.",
)

SHOPS = TableDef(
    RESOLUTION,
    "shops",
    _fields(
        ("shop_id", StringType(), True, "stable canonical id"),
        ("shop_brand_key", StringType(), True, "normalized chain key"),
        ("shop_brand", StringType(), True, "chain display name"),
        ("shop_name", StringType(), True, "canonical display name"),
        ("address", StringType(), False, ""),
        ("city", StringType(), False, ""),
        ("postal_code", StringType(), False, ""),
        ("country", StringType(), False, "ISO 3166-1 alpha-2"),
        ("tax_id", StringType(), False, ""),
        ("normalized_key", StringType(), True, "normalized brand|location"),
        ("alias_count", IntegerType(), True, "spellings mapped here"),
        ("first_seen_at", TimestamptzType(), True, "when the id was created"),
    ),
    doc="One row per canonical shop (a branch of a chain).",
)

SHOP_ALIASES = TableDef(
    RESOLUTION,
    "shop_aliases",
    _fields(
        ("alias_key", StringType(), True, "md5 of the raw shop fields"),
        ("raw_name", StringType(), True, "shop.name as printed"),
        ("raw_brand", StringType(), True, "shop.brand, '' when null"),
        ("raw_address", StringType(), True, "'' when null"),
        ("raw_city", StringType(), True, "'' when null"),
        ("raw_postal_code", StringType(), True, "'' when null"),
        ("raw_tax_id", StringType(), True, "'' when null"),
        ("shop_id", StringType(), True, "canonical shop"),
        ("match_method", StringType(), True, "new | exact | fuzzy | registry"),
        ("match_score", DoubleType(), True, "similarity of the match"),
        ("first_seen_at", TimestamptzType(), True, "when the alias was resolved"),
    ),
    doc="Every shop spelling seen mapped to its canonical shop.",
)

BRONZE_TABLES = (INVOICES_RAW, INVOICES_REJECTED, LOAD_LOG)
RESOLUTION_TABLES = (PRODUCTS, PRODUCT_ALIASES, SHOPS, SHOP_ALIASES)
ALL_TABLES = BRONZE_TABLES + RESOLUTION_TABLES

"""The services run on the cluster's settings: built by the Pulumi program's own module."""

from __future__ import annotations

from lakehouse import lakehouse_config, wiring


def test_trino_catalog_file_is_the_clusters_with_loopback_endpoints(stack):
    stack.trino.prepare()
    written = (stack.trino.dir / "etc" / "catalog" / "lakehouse.properties").read_text()
    local = lakehouse_config.trino_iceberg_properties(stack.cfg.data_path())
    cluster = lakehouse_config.trino_iceberg_properties(
        lakehouse_config.cluster_data_path(stack.cfg.region)
    )
    assert written == lakehouse_config.properties_text(local)
    assert local.keys() == cluster.keys()
    differ = {k for k in local if local[k] != cluster[k]}
    assert differ == {"iceberg.rest-catalog.uri", "s3.endpoint"}
    assert cluster["iceberg.rest-catalog.uri"] == wiring.ICEBERG_REST_URI


def test_nessie_properties_say_what_the_helm_values_say(stack):
    dp = stack.cfg.data_path()
    props = lakehouse_config.nessie_catalog_properties(dp, "urn:nessie-secret:quarkus:x")
    values = lakehouse_config.nessie_catalog_values(dp, {"name": "s3-nessie"})
    s3 = values["storage"]["s3"]["defaultOptions"]
    assert props["nessie.catalog.default-warehouse"] == values["iceberg"]["defaultWarehouse"]
    (wh,) = values["iceberg"]["warehouses"]
    assert props[f"nessie.catalog.warehouses.{wh['name']}.location"] == wh["location"]
    prefix = "nessie.catalog.service.s3.default-options"
    assert props[f"{prefix}.endpoint"] == s3["endpoint"] == stack.cfg.s3_endpoint
    assert props[f"{prefix}.region"] == s3["region"]
    assert props[f"{prefix}.path-style-access"] == str(s3["pathStyleAccess"]).lower()
    written = (stack.nessie.dir / "config" / "application.properties").read_text()
    for key, value in props.items():
        if not key.endswith("access-key"):
            assert f"{key}={value}\n" in written

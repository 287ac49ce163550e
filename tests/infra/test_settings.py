"""Typed settings: the committed environments load; every bad value stops with a clear message."""

from __future__ import annotations

import pytest
from helpers import DELETE, ENVIRONMENTS

from lakehouse import settings


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_committed_environments_load(env: str) -> None:
    s = settings.load(ENVIRONMENTS / env)
    assert s.name == env
    assert set(s.platform.sizes) == set(settings.SIZE_NAMES)


def test_dev_fits_a_laptop_by_the_sum_of_requests() -> None:
    s = settings.load(ENVIRONMENTS / "dev")
    cpu, memory = settings.total_requests(s.platform.sizes)
    assert cpu <= 8
    assert memory <= 32 * 2**30


def test_budget_counts_one_postgres_cluster_per_database() -> None:
    s = settings.load(ENVIRONMENTS / "dev")
    sizes = dict(s.platform.sizes)
    base_cpu, _ = settings.total_requests(sizes)
    pg = sizes["postgres"]
    bigger = pg.model_copy(update={"replicas": pg.replicas + 1})
    cpu, _ = settings.total_requests({**sizes, "postgres": bigger})
    assert cpu - base_cpu == pytest.approx(3 * settings.parse_cpu(pg.requests.cpu))


@pytest.mark.parametrize(
    ("env", "file", "key", "value", "expected"),
    [
        # unknown key: named, with the keys allowed there
        (
            "dev",
            "platform.yaml",
            "kafka.replicas",
            3,
            [
                "unknown key 'kafka.replicas'",
                "allowed keys here: authentication, listener_tls, storage_size",
            ],
        ),
        ("prod", "platform.yaml", "colour", "blue", ["unknown key 'colour'"]),
        # wrong type
        (
            "dev",
            "platform.yaml",
            "high_availability",
            "yes",
            ["key 'high_availability' has the wrong type"],
        ),
        (
            "dev",
            "platform.yaml",
            "sizes.nessie.replicas",
            "two",
            ["key 'sizes.nessie.replicas' has the wrong type"],
        ),
        # a value outside a fixed set: the allowed values are listed
        (
            "dev",
            "platform.yaml",
            "kafka.authentication",
            "plain",
            ["key 'kafka.authentication' is 'plain'", "allowed values: 'none' or 'scram-sha-512'"],
        ),
        (
            "dev",
            "platform.yaml",
            "cluster.mode",
            "minikube",
            [
                "key 'cluster' has 'mode' = 'minikube'",
                "allowed values: 'kind', 'existing', 'digitalocean'",
            ],
        ),
        # a prod replica count of 1
        (
            "prod",
            "platform.yaml",
            "sizes.nessie.replicas",
            1,
            ["sizes.nessie.replicas is 1; high_availability: true needs >= 2"],
        ),
        (
            "prod",
            "platform.yaml",
            "sizes.kafka_broker.replicas",
            2,
            ["sizes.kafka_broker.replicas is 2; high_availability: true needs >= 3"],
        ),
        (
            "prod",
            "platform.yaml",
            "sizes.postgres.replicas",
            1,
            ["sizes.postgres.replicas is 1; high_availability: true needs >= 3"],
        ),
        # floating image tags, missing tags, version ranges
        (
            "prod",
            "versions.yaml",
            "images.trino",
            "trinodb/trino:latest",
            ["images.trino", "floating tag 'latest'"],
        ),
        (
            "dev",
            "versions.yaml",
            "images.airflow",
            "apache/airflow",
            ["images.airflow", "has no tag"],
        ),
        (
            "dev",
            "versions.yaml",
            "charts.trino.version",
            "^1.41",
            ["charts.trino.version", "exact version"],
        ),
        (
            "dev",
            "platform.yaml",
            "airflow.dags_ref",
            "main",
            ["airflow.dags_ref", "pinned tag or commit"],
        ),
        # missing pieces
        ("dev", "platform.yaml", "sizes.trino_worker", DELETE, ["sizes is missing trino_worker"]),
        ("dev", "versions.yaml", "charts.loki", DELETE, ["charts is missing loki"]),
        (
            "dev",
            "versions.yaml",
            "images.kind_node",
            DELETE,
            ["cluster.mode kind needs images.kind_node in versions.yaml"],
        ),
        ("prod", "platform.yaml", "gitops", DELETE, ["key 'gitops' is required"]),
        # cross-field rules
        ("dev", "platform.yaml", "sizes.trino_worker.replicas", 12, ["budget is 8 CPU / 32Gi"]),
        (
            "dev",
            "platform.yaml",
            "kafka.authentication",
            "scram-sha-512",
            ["scram-sha-512 needs listener_tls: true"],
        ),
        (
            "dev",
            "platform.yaml",
            "sizes.superset.limits.memory",
            "100Mi",
            ["limits.memory must be >= requests.memory"],
        ),
        (
            "dev",
            "platform.yaml",
            "sizes.superset.requests.cpu",
            "lots",
            ["a CPU quantity like '500m'"],
        ),
        ("prod", "platform.yaml", "ingress.acme_email", DELETE, ["tls: true needs acme_email"]),
        ("dev", "platform.yaml", "gitops.repo_url", "git@github.com:x/y.git", ["gitops.repo_url"]),
        (
            "dev",
            "platform.yaml",
            "environment",
            "prod",
            ["key 'environment' is 'prod'; allowed values: 'dev'"],
        ),
    ],
)
def test_bad_value_stops_with_a_message_naming_the_key(
    envs, env, file, key, value, expected
) -> None:
    envs.edit(env, file, key, value)
    with pytest.raises(settings.SettingsError) as caught:
        envs.load(env)
    message = str(caught.value)
    # The kind_node rule is reported against platform.yaml, whose cluster.mode asks for it.
    reported_in = "platform.yaml" if key == "images.kind_node" else file
    assert f"{env}/{reported_in}" in message
    for fragment in expected:
        assert fragment in message


def test_every_problem_is_reported_at_once(envs) -> None:
    envs.edit("dev", "platform.yaml", "kafka.authentication", "plain")
    envs.edit("dev", "versions.yaml", "images.trino", "trinodb/trino:latest")
    with pytest.raises(settings.SettingsError) as caught:
        envs.load("dev")
    assert "kafka.authentication" in str(caught.value)
    assert "images.trino" in str(caught.value)


def test_a_missing_environment_is_named(tmp_path) -> None:
    with pytest.raises(settings.SettingsError, match=r"staging/platform\.yaml: file not found"):
        settings.load(tmp_path / "staging")


@pytest.mark.parametrize(
    ("ref", "ok"),
    [
        ("trinodb/trino:476", True),
        ("localhost:5000/trino:476", True),
        ("ghcr.io/x/y@sha256:" + "a" * 64, True),
        ("localhost:5000/trino", False),
        ("trinodb/trino:LATEST", False),
        ("trinodb/trino:main", False),
        ("ghcr.io/x/y@sha256:abc", False),
    ],
)
def test_image_references_must_be_immutable(ref: str, ok: bool) -> None:
    if ok:
        assert settings.check_image(ref) == ref
    else:
        with pytest.raises(ValueError):
            settings.check_image(ref)

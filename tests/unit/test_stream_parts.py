"""The stream consumer's parts that need no broker: settings, crash points, health, validation."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pantrypulse.contract import validate as contract
from pantrypulse.settings import SettingsError, load_settings
from pantrypulse.simulator.generate import SimulatorConfig, generate
from pantrypulse.simulator.kafka_producer import ProducerConfig, plan_records
from pantrypulse.stream.consumer import consumer_config
from pantrypulse.stream.failpoints import POINTS
from pantrypulse.stream.metrics import HealthState


def test_stream_settings_from_env_and_their_errors(tmp_path):
    password = tmp_path / "password"
    password.write_text("s3cret\n")
    s = load_settings(
        {
            "PANTRYPULSE_HOME": str(tmp_path),
            "PANTRYPULSE_STREAM__BOOTSTRAP_SERVERS": "kafka:9093",
            "PANTRYPULSE_STREAM__SECURITY_PROTOCOL": "SASL_SSL",
            "PANTRYPULSE_STREAM__SASL_MECHANISM": "SCRAM-SHA-512",
            "PANTRYPULSE_STREAM__SASL_USERNAME": "pantrypulse-ingestion",
            "PANTRYPULSE_STREAM__SASL_PASSWORD_FILE": str(password),
            "PANTRYPULSE_STREAM__GROUP_INSTANCE_ID": "stream-0",
        }
    )
    conf = consumer_config(s.stream)
    assert conf["sasl.password"] == "s3cret"
    assert conf["bootstrap.servers"] == "kafka:9093"
    assert conf["group.id"] == "pantrypulse-bronze"
    assert conf["group.instance.id"] == "stream-0"
    assert conf["enable.auto.commit"] is False
    assert conf["isolation.level"] == "read_committed"

    with pytest.raises(SettingsError, match="PANTRYPULSE_STREAM__SECURITY_PROTOCOL"):
        load_settings({"PANTRYPULSE_STREAM__SECURITY_PROTOCOL": "SASL"})
    with pytest.raises(SettingsError, match="PANTRYPULSE_STREAM__BATCH_MAX_SECONDS"):
        load_settings({"PANTRYPULSE_STREAM__BATCH_MAX_SECONDS": "0"})
    with pytest.raises(SettingsError, match="PANTRYPULSE_STREAM__BATCH_SIZE: unknown setting"):
        load_settings({"PANTRYPULSE_STREAM__BATCH_SIZE": "10"})
    half = load_settings({"PANTRYPULSE_STREAM__SASL_MECHANISM": "PLAIN"})
    with pytest.raises(SettingsError, match="sasl_password_file are required"):
        half.stream.kafka_config()
    missing = load_settings(
        {
            "PANTRYPULSE_STREAM__SASL_MECHANISM": "PLAIN",
            "PANTRYPULSE_STREAM__SASL_USERNAME": "u",
            "PANTRYPULSE_STREAM__SASL_PASSWORD_FILE": str(tmp_path / "nope"),
        }
    )
    with pytest.raises(SettingsError, match=r"stream\.sasl_password_file: cannot read"):
        missing.stream.kafka_config()


@pytest.mark.parametrize("point", ["before_write", "before_kafka_commit"])
def test_a_failpoint_kills_the_process_at_its_nth_pass(point):
    code = (
        "from pantrypulse.stream.failpoints import failpoint\n"
        "for i in range(5):\n"
        f"    failpoint({point!r}); print(i, flush=True)\n"
    )
    env = {"PP_FAILPOINT": f"{point}@3", "PATH": ""}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert proc.returncode == -9
    assert proc.stdout.split() == ["0", "1"]


def test_an_unknown_failpoint_is_an_error_not_a_silent_no_op():
    code = "from pantrypulse.stream.failpoints import failpoint\nfailpoint('before_write')\n"
    proc = subprocess.run(
        [sys.executable, "-c", code],
        env={"PP_FAILPOINT": "after_everything"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "unknown failpoint 'after_everything'" in proc.stderr
    assert len(POINTS) == len(set(POINTS)) == 7


def test_readiness_follows_the_group_and_the_age_of_waiting_records():
    now = [100.0]
    health = HealthState(max_commit_age_s=30, clock=lambda: now[0])
    assert health.ready() == (False, "not in the consumer group yet")
    health.joined = True
    assert health.ready() == (True, "ok")
    health.waiting_since = 95.0
    assert health.ready()[0]
    now[0] = 130.0
    assert health.ready() == (False, "records waiting 35s without a commit")
    health.waiting_since = None
    assert health.ready()[0]
    health.stopping = True
    assert health.ready() == (False, "shutting down")


def _full_verdict(record):
    """The verdict with the compiled fast path switched off: jsonschema decides everything."""

    def always_fails():
        return lambda _obj: False

    original = contract._fast_check
    contract._fast_check = always_fails
    try:
        return contract.validate_record(record)
    finally:
        contract._fast_check = original


def _corpus() -> list:
    dataset = generate(SimulatorConfig(days=20, households=40, malformed_rate=0.2))
    records = [
        json.dumps(d.payload).encode() if isinstance(d.payload, dict) else d.payload
        for d in dataset.deliveries
    ]
    planned = plan_records(ProducerConfig(malformed_share=0.3, seed=7), 1500)
    records += [p.value if p.value is not None else b"" for p in planned]
    return records


def test_the_fast_schema_path_agrees_with_jsonschema_on_every_record():
    corpus = _corpus()
    rejected = 0
    for record in corpus:
        fast, full = contract.validate_record(record), _full_verdict(record)
        assert (fast.reason_code, fast.reason, fast.invoice_id) == (
            full.reason_code,
            full.reason,
            full.invoice_id,
        )
        rejected += not fast.ok
    assert rejected > 100, "the corpus must exercise the reject path"

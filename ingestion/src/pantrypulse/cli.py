"""`pantrypulse`: the command line of the ingestion deployable.

Every command reads the same typed settings (file + PANTRYPULSE_* variables); a bad setting
stops it with the key's name before anything runs.
"""

from __future__ import annotations

import json
import signal
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import click

from pantrypulse import __version__
from pantrypulse.settings import Settings, SettingsError, load_settings


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(f"bad setting: {exc}") from None


def _catalog(settings: Settings):
    from pantrypulse.catalog import open_catalog

    return open_catalog(settings)


def _echo(message: str) -> None:
    click.echo(message, err=True)


def _date(_ctx, _param, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"expected YYYY-MM-DD, got {value!r}") from None


def _stop_on_signals():
    """An event that SIGTERM and SIGINT set, for loops that finish their work and leave."""
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


class _Group(click.Group):
    """Turns the pipeline's own errors into one clear line and a non-zero exit."""

    def invoke(self, ctx):
        from pantrypulse.maintenance import MaintenanceError
        from pantrypulse.pipeline import IngestError
        from pantrypulse.transform import TransformError

        try:
            return super().invoke(ctx)
        except (IngestError, TransformError, MaintenanceError, SettingsError) as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:  # object store or catalog unreachable: say so in one line
            raise click.ClickException(
                f"storage error ({type(exc).__name__}): {exc}; nothing was half-written, "
                "re-run the command once the store answers"
            ) from None


@click.group(cls=_Group)
@click.version_option(__version__, prog_name="pantrypulse")
def main() -> None:
    """PantryPulse: grocery invoices from source to gold on an Iceberg lakehouse."""


@main.command()
def config() -> None:
    """Print the effective settings (secrets masked)."""
    click.echo(json.dumps(_settings().model_dump(mode="json"), indent=2, default=str))


def _sim_options(fn):
    from pantrypulse.simulator import SimulatorConfig

    defaults = SimulatorConfig()
    for option in reversed(
        [
            click.option("--seed", type=int, default=defaults.seed, show_default=True),
            click.option(
                "--start",
                callback=_date,
                default=defaults.start.isoformat(),
                show_default=True,
                help="first issue date",
            ),
            click.option(
                "--days", type=click.IntRange(1, 3660), default=defaults.days, show_default=True
            ),
            click.option(
                "--households",
                type=click.IntRange(1, 10_000),
                default=defaults.households,
                show_default=True,
            ),
        ]
    ):
        fn = option(fn)
    return fn


def _sim_config(seed: int, start: date, days: int, households: int):
    from pantrypulse.simulator import SimulatorConfig

    return SimulatorConfig(seed=seed, start=start, days=days, households=households)


@main.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="folder for invoices.jsonl and truth/ (default: $PANTRYPULSE_HOME/simulator)",
)
@_sim_options
def simulate(out: Path | None, seed: int, start: date, days: int, households: int) -> None:
    """Write simulated invoices as JSON Lines plus the ground truth beside them."""
    from pantrypulse.simulator import generate, write_jsonl

    out = out or _settings().home / "simulator"
    dataset = generate(_sim_config(seed, start, days, households))
    path = write_jsonl(dataset, out)
    click.echo(f"{len(dataset.deliveries)} deliveries -> {path} (truth in {out / 'truth'})")


@main.command("serve-source")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True)
@click.option(
    "--token", envvar="PANTRYPULSE_SOURCE__TOKEN", default=None, help="require this bearer token"
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 0.9),
    default=0.0,
    show_default=True,
    help="share of requests answered 429/5xx",
)
@click.option("--page-size", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.option("--as-of", callback=_date, default=None, help="serve only what arrived by then")
@_sim_options
def serve_source(
    host, port, token, error_rate, page_size, as_of, seed, start, days, households
) -> None:
    """Serve simulated invoices over the HTTP source contract (GET /invoices?date=&page=)."""
    from pantrypulse.simulator import InvoiceSourceServer, generate

    dataset = generate(_sim_config(seed, start, days, households))
    server = InvoiceSourceServer(
        dataset,
        host=host,
        port=port,
        token=token,
        error_rate=error_rate,
        page_size=page_size,
        as_of=as_of,
        seed=seed,
    )
    server.start()
    # Stop cleanly on SIGTERM too (Kubernetes, Airflow and background shells send it).
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    _echo(f"serving {len(dataset.deliveries)} deliveries at {server.base_url} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


@main.command()
@click.option(
    "--from",
    "start",
    callback=_date,
    default=None,
    help="first date (default: last loaded date minus the late-arrival window)",
)
@click.option("--to", "end", callback=_date, default=None, help="last date (default: yesterday)")
@click.option(
    "--chunk-days",
    type=click.IntRange(1, 366),
    default=14,
    show_default=True,
    help="dates per commit",
)
def ingest(start: date | None, end: date | None, chunk_days: int) -> None:
    """Fetch invoices by date from the HTTP source into bronze (re-runs replace, never add)."""
    from pantrypulse.pipeline import http_window, ingest_http

    settings = _settings()
    catalog = _catalog(settings)
    start, end = http_window(catalog, settings, start, end, datetime.now(UTC).date())
    _echo(f"ingesting {start}..{end} from {settings.source.base_url}")
    results = ingest_http(settings, catalog, start, end, chunk_days, progress=_echo)
    _print_loads(results)


def _print_loads(results) -> None:
    delivered = sum(r.delivered for r in results)
    accepted = sum(r.accepted for r in results)
    rejected = sum(r.rejected for r in results)
    reasons: dict[str, int] = {}
    for r in results:
        for code, n in r.rejected_by_reason.items():
            reasons[code] = reasons.get(code, 0) + n
    click.echo(
        f"delivered {delivered} = accepted {accepted} + rejected {rejected}"
        + (f" ({', '.join(f'{k}: {v}' for k, v in sorted(reasons.items()))})" if reasons else "")
    )


@main.command("import")
@click.argument("file", type=click.Path(path_type=Path))
def import_(file: Path) -> None:
    """Import a JSON Lines file into bronze (re-importing the same file replaces it)."""
    from pantrypulse.pipeline import import_file

    settings = _settings()
    _print_loads([import_file(settings, _catalog(settings), file)])


@main.command()
def resolve() -> None:
    """Resolve products and shops into the canonical registry (stable ids)."""
    from pantrypulse.transform import resolve as run

    settings = _settings()
    click.echo(run(settings, _catalog(settings)))


@main.command()
@click.option("--select", multiple=True, help="dbt node selection (default: everything)")
def transform(select: tuple[str, ...]) -> None:
    """Resolve entities, then dbt build silver and gold with their tests."""
    from pantrypulse.transform import transform as run

    settings = _settings()
    summary, outcome = run(settings, _catalog(settings), select)
    click.echo(str(summary))
    click.echo(
        f"dbt build: {outcome.status_counts} in {outcome.elapsed_s:.1f}s (log: {outcome.log_path})"
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def status(as_json: bool) -> None:
    """What bronze holds: counts, rejects by reason, reconciliation, freshness."""
    from pantrypulse.pipeline import bronze_status

    settings = _settings()
    st = bronze_status(_catalog(settings))
    info = {
        "catalog": settings.catalog.uri,
        "accepted": st.accepted,
        "rejected": st.rejected,
        "delivered": st.accepted + st.rejected,
        "distinct_invoices": st.distinct_invoices,
        "accepted_by_source": st.by_source,
        "rejected_by_reason": st.rejected_by_reason,
        "slices": st.slices,
        "reconciled": st.reconciled,
        "unsealed_slices": st.unsealed_slices,
        "mismatched_slices": st.mismatched_slices,
        "last_ingested_at": st.last_ingested_at.isoformat() if st.last_ingested_at else None,
        "freshness_hours": round(st.freshness_hours(), 2) if st.last_ingested_at else None,
        "last_http_date": st.last_http_date.isoformat() if st.last_http_date else None,
    }
    if as_json:
        click.echo(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            click.echo(f"{key:>20}: {value}")
    if not st.reconciled:
        sys.exit(3)


@main.command()
@click.option(
    "--retention-days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="keep snapshots and files younger than this",
)
@click.option(
    "--retention-hours",
    type=click.FloatRange(min=0),
    default=None,
    help="the retention in hours instead (at least 1; not with --retention-days)",
)
@click.option(
    "--since-days",
    type=click.IntRange(min=0),
    default=None,
    help="compact only partitions with ingest_date >= today (UTC) - N "
    "(tables partitioned by ingest_date; others are compacted whole)",
)
@click.option("--table", "tables", multiple=True, help="ns.table (default: every table)")
@click.option("--no-compact", is_flag=True, help="skip small-file compaction")
@click.option("--no-expire", is_flag=True, help="skip snapshot expiry")
@click.option("--no-orphans", is_flag=True, help="skip orphan-file removal")
@click.option("--dry-run", is_flag=True, help="report what would change, change nothing")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
@click.pass_context
def maintain(
    ctx,
    retention_days,
    retention_hours,
    since_days,
    tables,
    no_compact,
    no_expire,
    no_orphans,
    dry_run,
    as_json,
) -> None:
    """Iceberg maintenance: compaction, snapshot expiry, orphan files (safe beside writers)."""
    from datetime import timedelta

    from click.core import ParameterSource

    from pantrypulse.maintenance import MaintenanceError
    from pantrypulse.maintenance import maintain as run

    if retention_hours is not None:
        if ctx.get_parameter_source("retention_days") is not ParameterSource.DEFAULT:
            raise click.UsageError("--retention-days and --retention-hours are mutually exclusive")
        keep = timedelta(hours=retention_hours)
    else:
        keep = timedelta(days=retention_days)
    settings = _settings()
    try:
        report = run(
            _catalog(settings),
            list(tables) or None,
            keep,
            compact=not no_compact,
            expire=not no_expire,
            remove_orphans=not no_orphans,
            dry_run=dry_run,
            compact_since_days=since_days,
        )
    except MaintenanceError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        for key, value in report["totals"].items():
            click.echo(f"{key:>22}: {value}")


@main.command()
@click.option(
    "--days",
    type=click.IntRange(1, 3660),
    default=None,
    help="days of invoices (default: the simulator's six months)",
)
@click.option(
    "--error-rate",
    type=click.FloatRange(0, 0.5),
    default=0.02,
    show_default=True,
    help="source faults to ride through (429/5xx)",
)
def demo(days: int | None, error_rate: float) -> None:
    """Simulator -> HTTP source -> bronze -> silver -> gold, then a report. Safe to re-run."""
    from pantrypulse.demo import run_demo

    run_demo(_settings(), days=days, error_rate=error_rate, progress=_echo)


@main.command()
@click.option(
    "--idle-exit",
    type=click.FloatRange(min=0.1),
    default=None,
    help="stop once no record arrived for this many seconds (backfills, tests)",
)
@click.option("--json", "as_json", is_flag=True, help="print the run's totals as JSON on exit")
def stream(idle_exit: float | None, as_json: bool) -> None:
    """Consume the invoice topic into bronze, exactly once (runs until SIGTERM)."""
    import logging

    from pantrypulse.stream import StreamConsumer, StreamError
    from pantrypulse.stream.metrics import HealthState, StreamMetrics, serve

    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    settings = _settings()
    cfg = settings.stream
    catalog = _catalog(settings)
    metrics = StreamMetrics()
    health = HealthState(cfg.ready_max_commit_age_s)
    server = serve(cfg.http_port, health) if cfg.http_port else None
    # SIGTERM (pod deletion, rollout) finishes the current batch, commits it and leaves.
    stop = _stop_on_signals()
    _echo(f"streaming {cfg.topic} from {cfg.bootstrap_servers} as group {cfg.group_id}")
    try:
        totals = StreamConsumer(settings, catalog, metrics, health).run(stop, idle_exit)
    except StreamError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if server is not None:
            server.shutdown()
    if as_json:
        click.echo(json.dumps(totals.__dict__, sort_keys=True))
    else:
        _echo(
            f"stopped: {totals.records} records in {totals.batches} batches: "
            f"{totals.accepted} accepted, {totals.rejected} rejected, "
            f"{totals.skipped} already in bronze"
        )


@main.command()
@click.option(
    "--rate",
    type=click.FloatRange(min=0),
    default=100.0,
    show_default=True,
    help="invoices per second (0: as fast as the broker takes them)",
)
@click.option("--count", type=click.IntRange(min=1), default=None, help="messages to send")
@click.option(
    "--duration",
    type=click.FloatRange(min=0.1),
    default=None,
    help="seconds to send for (default 60 when --count is not given)",
)
@click.option("--duplicate-share", type=click.FloatRange(0, 0.5), default=0.02, show_default=True)
@click.option("--malformed-share", type=click.FloatRange(0, 0.5), default=0.01, show_default=True)
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
def produce(rate, count, duration, duplicate_share, malformed_share, seed, as_json) -> None:
    """Send simulated invoices to the topic (stream.* settings say where)."""
    from pantrypulse.simulator.kafka_producer import ProducerConfig
    from pantrypulse.simulator.kafka_producer import produce as run_producer

    settings = _settings()
    cfg = settings.stream
    stop = _stop_on_signals()
    config = ProducerConfig(
        topic=cfg.topic,
        rate=rate,
        count=count,
        duration_s=duration,
        duplicate_share=duplicate_share,
        malformed_share=malformed_share,
        seed=seed,
    )
    report = run_producer(config, cfg.kafka_config(), stop=stop)
    if as_json:
        click.echo(json.dumps({**report.__dict__, "rate": report.rate()}, sort_keys=True))
    else:
        _echo(
            f"produced {report.produced} messages to {cfg.topic} at {report.rate():.0f}/s "
            f"({report.failed} failed): {report.by_kind}"
        )
    if report.failed:
        raise click.ClickException(f"{report.failed} messages were not delivered")


@main.command()
def report() -> None:
    """Print the report of the last demo/pipeline run (layers, rejects, quality, top spend)."""
    from pantrypulse.report import build_report, format_report

    settings = _settings()
    sim = settings.home / "simulator"  # the demo's truth, when the data came from it
    click.echo(format_report(build_report(settings, _catalog(settings), truth_dir=sim)))


if __name__ == "__main__":
    main()

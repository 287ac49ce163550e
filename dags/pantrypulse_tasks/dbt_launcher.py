"""Run `dbt ARGS` locally the way the `dbt` image runs it in the cluster.

Executed by the ingestion environment's interpreter (it imports `pantrypulse`), so the dbt
subprocess gets exactly the settings `pantrypulse transform` gives it: the Iceberg catalog for
DuckDB's iceberg plugin, the DuckDB file, the project and the target. Output goes straight to
the caller (the Airflow task log). Usage: `python dbt_launcher.py run --select path:models/gold`.
"""

from __future__ import annotations

import os
import shutil
import sys


def main(argv: list[str]) -> int:
    """Replace this process with dbt, configured from the PantryPulse settings."""
    from pantrypulse.settings import SettingsError, load_settings
    from pantrypulse.transform import dbt_env

    if not argv:
        print("usage: dbt_launcher.py DBT_COMMAND [ARGS...]", file=sys.stderr)
        return 2
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"bad setting: {exc}", file=sys.stderr)
        return 2
    project = str(settings.dbt.project_dir)
    executable = shutil.which(str(settings.dbt.executable))
    if executable is None:
        print(f"dbt executable not found: {settings.dbt.executable}", file=sys.stderr)
        return 2
    settings.dbt.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    args = [
        executable,
        *argv,
        "--project-dir",
        project,
        "--profiles-dir",
        project,
        "--target",
        settings.dbt.target,
        "--target-path",
        str(settings.home / "dbt-target"),
        "--log-path",
        str(settings.home / "logs"),
    ]
    if argv[0] in ("run", "test", "build", "seed", "snapshot"):
        args += ["--threads", str(settings.dbt.threads)]
    env = dbt_env(settings)
    env.setdefault("DBT_USE_COLORS", "false")  # plain text in the Airflow task log
    os.chdir(project)
    os.execve(executable, args, env)  # noqa: S606 - fixed argv, no shell
    return 0  # pragma: no cover - execve does not return


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

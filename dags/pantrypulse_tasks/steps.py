"""Steps of the PantryPulse pipelines and the operators that run them.

A step is data: which image (`ingestion` runs `pantrypulse`, `dbt` runs `dbt`), the arguments
(Jinja templates, rendered at run time), its timeout and its resources. `build_step` turns it
into an operator according to the configured runner:

- `kubernetes`: a KubernetesPodOperator running the versioned image, whose reference is read
  from the pipeline ConfigMap when the task runs; pod settings come from that ConfigMap, the
  platform's endpoints ConfigMap and the pipeline Secrets (envFrom), never from the DAG file.
- `local`: `PantryPulseCommandOperator`, the same command as a subprocess of the ingestion
  environment against the embedded stack (settings from the Airflow process environment).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException

from pantrypulse_tasks.config import ConfigError, RunnerConfig, image_for, runner_config

ENTRYPOINTS = {"ingestion": "pantrypulse", "dbt": "dbt"}
# The pod's own emptyDir (the root filesystem is read-only), not a host-shared /tmp.
SCRATCH = "/tmp"  # noqa: S108
DBT_LAUNCHER = Path(__file__).with_name("dbt_launcher.py")


@dataclass(frozen=True)
class Resources:
    """Pod requests and limits."""

    cpu: str = "250m"
    memory: str = "512Mi"
    cpu_limit: str = "1"
    memory_limit: str = "1Gi"


@dataclass(frozen=True)
class Step:
    """One command of a pipeline, runnable by either runner."""

    task_id: str
    image: str
    args: tuple[str, ...]
    execution_timeout: timedelta
    doc: str
    resources: Resources = field(default_factory=Resources)
    # The command prints one JSON document on stdout, returned as the task's XCom.
    returns_json: bool = False
    # Exit codes that still count as success (e.g. `status` exits 3 when bronze does not
    # reconcile; the task downstream reports and fails on that, after publishing the metric).
    ok_exit_codes: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if self.image not in ENTRYPOINTS:
            raise ValueError(f"step {self.task_id}: unknown image {self.image!r}")

    @property
    def command(self) -> list[str]:
        """The command as the image runs it (entry point + arguments)."""
        return [ENTRYPOINTS[self.image], *self.args]


class PantryPulseCommandOperator(BaseOperator):
    """Run a step's command as a subprocess of the local ingestion environment."""

    template_fields: Sequence[str] = ("arguments",)
    ui_color = "#e8f4d9"

    def __init__(
        self,
        *,
        image: str,
        arguments: Sequence[str],
        python: str,
        workdir: str,
        returns_json: bool = False,
        ok_exit_codes: Sequence[int] = (0,),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.arguments = list(arguments)
        self.python = python
        self.workdir = workdir
        self.returns_json = returns_json
        self.ok_exit_codes = tuple(ok_exit_codes)
        self._proc: subprocess.Popen[str] | None = None

    def launcher(self) -> list[str]:
        """How the local ingestion environment runs this image's entry point."""
        if self.image == "ingestion":
            return [self.python, "-m", "pantrypulse.cli"]
        return [self.python, str(DBT_LAUNCHER)]

    def execute(self, context: Any) -> Any:
        """Run the command, stream its output to the task log, fail on a bad exit code."""
        if not Path(self.python).exists():
            raise ConfigError(
                f"DAGS__LOCAL_PYTHON: {self.python} does not exist "
                "(create the ingestion environment: make envs)"
            )
        cmd = [*self.launcher(), *map(str, self.arguments)]
        self.log.info("running: %s", shlex.join([ENTRYPOINTS[self.image], *self.arguments]))
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self._proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if self.returns_json else subprocess.STDOUT,
            text=True,
        )
        tail: deque[str] = deque(maxlen=15)
        if self.returns_json:
            out, err = self._proc.communicate()
            for line in err.splitlines():
                self.log.info("%s", line)
                tail.append(line)
        else:
            out = ""
            assert self._proc.stdout is not None
            for line in self._proc.stdout:
                self.log.info("%s", line.rstrip())
                tail.append(line.rstrip())
        code = self._proc.wait()
        if code not in self.ok_exit_codes:
            last = "\n".join(tail)
            raise AirflowException(
                f"{ENTRYPOINTS[self.image]} {self.arguments[0]} exited {code}; last output:\n{last}"
            )
        if self.returns_json:
            self.log.info("%s", out.strip())
            return json.loads(out)
        return None

    def on_kill(self) -> None:
        """Stop the subprocess when the task is killed or times out."""
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._proc.kill()


def _pod_operator(step: Step, cfg: RunnerConfig, **kwargs: Any) -> BaseOperator:
    from airflow.providers.cncf.kubernetes.operators.pod import KubernetesPodOperator
    from kubernetes.client import models as k8s

    kc = cfg.kubernetes
    env_from = [
        k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=kc.pipeline_configmap)),
        k8s.V1EnvFromSource(config_map_ref=k8s.V1ConfigMapEnvSource(name=kc.endpoints_configmap)),
        *(
            k8s.V1EnvFromSource(secret_ref=k8s.V1SecretEnvSource(name=s, optional=True))
            for s in kc.secrets
        ),
    ]
    entry = ENTRYPOINTS[step.image]
    if step.returns_json:
        # The KPO sidecar returns /airflow/xcom/return.json; the command's stdout goes there.
        ok = "|".join(str(c) for c in step.ok_exit_codes)
        cmds = ["sh", "-c"]
        arguments = [
            f'{entry} "$@" > /airflow/xcom/return.json; rc=$?; cat /airflow/xcom/return.json; '
            f"case $rc in {ok}) exit 0;; *) exit $rc;; esac",
            entry,
            *step.args,
        ]
    else:
        cmds, arguments = [entry], list(step.args)
    r = step.resources
    return KubernetesPodOperator(
        task_id=step.task_id,
        name=f"pantrypulse-{step.task_id.replace('_', '-')}",
        namespace=kc.namespace,
        image="{{ pantrypulse_image('" + step.image + "') }}",
        image_pull_policy="IfNotPresent",
        cmds=cmds,
        arguments=arguments,
        env_from=env_from,
        env_vars={
            # Writable scratch on a read-only root filesystem; state lives in the catalog.
            "HOME": SCRATCH,
            "PANTRYPULSE_HOME": f"{SCRATCH}/pantrypulse",
            "DBT_TARGET_PATH": f"{SCRATCH}/dbt/target",
            "DBT_LOG_PATH": f"{SCRATCH}/dbt/logs",
            "DBT_USE_COLORS": "false",
            "PANTRYPULSE_RUN_ID": "{{ run_id }}",
        },
        container_resources=k8s.V1ResourceRequirements(
            requests={"cpu": r.cpu, "memory": r.memory},
            limits={"cpu": r.cpu_limit, "memory": r.memory_limit},
        ),
        security_context=k8s.V1PodSecurityContext(
            run_as_non_root=True,
            run_as_user=10001,
            run_as_group=10001,
            fs_group=10001,
            seccomp_profile=k8s.V1SeccompProfile(type="RuntimeDefault"),
        ),
        container_security_context=k8s.V1SecurityContext(
            allow_privilege_escalation=False,
            read_only_root_filesystem=True,
            privileged=False,
            capabilities=k8s.V1Capabilities(drop=["ALL"]),
        ),
        volumes=[k8s.V1Volume(name="tmp", empty_dir=k8s.V1EmptyDirVolumeSource())],
        volume_mounts=[k8s.V1VolumeMount(name="tmp", mount_path=SCRATCH)],
        service_account_name=kc.service_account,
        automount_service_account_token=False,
        labels={
            "app.kubernetes.io/part-of": "pantrypulse",
            "app.kubernetes.io/component": step.image,
            "pantrypulse.io/step": step.task_id.replace("_", "-"),
        },
        in_cluster=kc.in_cluster,
        kubernetes_conn_id=kc.kubernetes_conn_id,
        get_logs=True,
        do_xcom_push=step.returns_json,
        on_finish_action="delete_succeeded_pod",
        startup_timeout_seconds=600,
        execution_timeout=step.execution_timeout,
        doc_md=step.doc,
        **kwargs,
    )


def build_step(step: Step, cfg: RunnerConfig | None = None, **kwargs: Any) -> BaseOperator:
    """The operator that runs `step` with the configured runner."""
    cfg = cfg or runner_config()
    if cfg.runner == "kubernetes":
        return _pod_operator(step, cfg, **kwargs)
    return PantryPulseCommandOperator(
        task_id=step.task_id,
        image=step.image,
        arguments=step.args,
        python=str(cfg.local.python),
        workdir=str(cfg.local.workdir),
        returns_json=step.returns_json,
        ok_exit_codes=step.ok_exit_codes,
        execution_timeout=step.execution_timeout,
        doc_md=step.doc,
        **kwargs,
    )


def template_macros(cfg: RunnerConfig | None = None) -> dict[str, Any]:
    """`user_defined_macros` of the DAGs: run-time lookups used by the templated fields."""
    cfg = cfg or runner_config()

    def pantrypulse_image(kind: str) -> str:
        # Read on every render (once per task try): an ArgoCD sync takes effect at the next
        # task, with no DAG re-parse and no stale cache in a long-lived worker.
        from pantrypulse_tasks import config

        return image_for(kind, cfg.kubernetes, config.read_pipeline_configmap(cfg.kubernetes))

    return {"pantrypulse_image": pantrypulse_image}

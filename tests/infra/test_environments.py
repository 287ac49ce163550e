"""Environments differ only by data: a new one is a folder; the name changes nothing but names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import lakehouse_rules
import yaml
from helpers import ENVIRONMENTS, rendering_of, rkey

from lakehouse import render, settings

FIXTURES = Path(__file__).parent / "fixtures"


def _add_environment(root: Path, name: str, base: str, overrides: dict[str, Any]) -> Path:
    shutil.copytree(ENVIRONMENTS / base, root / name)
    platform = yaml.safe_load((root / name / "platform.yaml").read_text())
    platform.update(overrides)
    (root / name / "platform.yaml").write_text(yaml.safe_dump(platform, sort_keys=False))
    return root / name


def _normalized(rendering: render.Rendering) -> dict[str, str]:
    """Every resource's inputs, with the environment's name replaced by a placeholder."""
    name = rendering.settings.name

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return [norm(v) for v in value]
        if isinstance(value, str):
            return "<env>" if value == name else value.replace(f"argocd/{name}", "argocd/<env>")
        return value

    return {rkey(r): json.dumps(norm(r.inputs), sort_keys=True) for r in rendering.records}


def test_staging_is_a_data_only_change(tmp_path: Path) -> None:
    overrides = yaml.safe_load((FIXTURES / "staging.yaml").read_text())
    env_dir = _add_environment(tmp_path, "staging", "prod", overrides)
    staging = render.run(settings.load(env_dir))
    prod = rendering_of("prod")
    app = staging.get("Application", "lakehouse-root", "argocd").inputs["spec"]
    assert app["source"]["path"] == "argocd/staging"
    assert app["source"]["targetRevision"] == "release"
    assert staging.exports["urls"]["grafana"] == "https://grafana.staging.pantrypulse.example"
    # The existing-cluster mode: no kind, no DOKS; the provider reads the named kubeconfig.
    provider = next(r for r in staging.records if r.type == "pulumi:providers:kubernetes")
    assert provider.inputs["kubeconfig"] == "~/.kube/staging.yaml"
    assert provider.inputs["context"] == "lakehouse-staging"
    assert not [r for r in staging.records if r.type.startswith(("command:", "digitalocean:"))]
    # Same services as prod, every rule holds.
    assert {r.inputs["name"] for r in staging.releases} == {r.inputs["name"] for r in prod.releases}
    assert {rkey(r) for r in staging.objects} == {rkey(r) for r in prod.objects}
    assert all(lakehouse_rules.check(r.type, r.inputs) == {} for r in staging.records)


def test_staging_renders_through_the_cli(tmp_path: Path, capsys) -> None:
    overrides = yaml.safe_load((FIXTURES / "staging.yaml").read_text())
    _add_environment(tmp_path / "environments", "staging", "prod", overrides)
    out = tmp_path / "out"
    assert (
        render.main(
            [
                "--env",
                "staging",
                "--out",
                str(out),
                "--environments",
                str(tmp_path / "environments"),
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["environment"] == "staging"
    assert summary["objects"] == len(list((out / "manifests").rglob("*.yaml"))) > 100
    assert "rendered staging" in capsys.readouterr().out


def test_the_name_of_an_environment_changes_nothing_but_names(tmp_path: Path) -> None:
    """Dev's data under another name renders the same objects: no code branches on the name."""
    qa = render.run(settings.load(_add_environment(tmp_path, "qa", "dev", {"environment": "qa"})))
    dev = _normalized(rendering_of("dev"))
    renamed = _normalized(qa)
    assert renamed.keys() == dev.keys()
    assert {k for k in dev if dev[k] != renamed[k]} == set()


def _changed(before: render.Rendering, after: render.Rendering) -> set[str]:
    b = {rkey(r): json.dumps(r.inputs, sort_keys=True) for r in before.records}
    a = {rkey(r): json.dumps(r.inputs, sort_keys=True) for r in after.records}
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def test_a_changed_value_changes_only_what_uses_it(envs) -> None:
    dev = rendering_of("dev")
    envs.edit("dev", "platform.yaml", "trino.worker_heap", "1024M")
    assert _changed(dev, render.run(envs.load("dev"))) == {"kubernetes:helm.sh/v3:Release::trino"}
    envs.edit("dev", "platform.yaml", "sizes.nessie.replicas", 2)
    assert _changed(dev, render.run(envs.load("dev"))) == {
        "kubernetes:helm.sh/v3:Release::trino",
        "kubernetes:helm.sh/v3:Release::nessie",
        "kubernetes:policy/v1:PodDisruptionBudget::nessie",
    }


def test_a_bad_environment_stops_the_render_with_the_message(tmp_path: Path, capsys) -> None:
    env_dir = _add_environment(tmp_path, "broken", "dev", {"environment": "broken"})
    (env_dir / "versions.yaml").write_text(
        (env_dir / "versions.yaml").read_text().replace("trinodb/trino:476", "trinodb/trino:latest")
    )
    code = render.main(
        ["--env", "broken", "--out", str(tmp_path / "out"), "--environments", str(tmp_path)]
    )
    assert code == 2
    assert "floating tag 'latest'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
